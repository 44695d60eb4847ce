/**
 * Bounded error text. Step Functions keeps at most 32,768 characters of an error's cause, and a
 * Lambda's cause is a JSON object holding the message twice (`errorMessage` and the first line
 * of `trace`) with the stack frames: a message that lists every pod of a drain would be cut
 * mid-name, or fail the state outright. Every message that lists names goes through
 * `namesWithin`, and every error that leaves a handler through `boundError`.
 */

/** The most characters of a cause Step Functions keeps. */
export const CAUSE_LIMIT_CHARS = 32_768;

/**
 * The most characters of an error message: the message appears twice in a Lambda's cause, JSON
 * escaping may double a character, and the stack frames need room.
 */
export const MESSAGE_LIMIT_CHARS = 6_000;

/** The most characters a list of names takes inside one message (the rest is counted). */
export const NAMES_LIMIT_CHARS = 2_000;

const countFormat = new Intl.NumberFormat('en-US');

/**
 * `a, b, c and 4,997 more`: the first names that fit in `maxChars`, then how many were left out.
 * `total` is how many names there are when the caller kept only the first few of them.
 */
export function namesWithin(
  names: readonly string[],
  options: { maxChars?: number; total?: number; separator?: string } = {},
): string {
  const maxChars = options.maxChars ?? NAMES_LIMIT_CHARS;
  const separator = options.separator ?? ', ';
  const total = Math.max(options.total ?? names.length, names.length);
  let text = '';
  let shown = 0;
  for (const name of names) {
    const next = shown === 0 ? name : `${text}${separator}${name}`;
    // Room is kept for the longest tail this list could need.
    const tail = ` and ${countFormat.format(total - shown - 1)} more`;
    if (next.length + (shown + 1 < total ? tail.length : 0) > maxChars) break;
    text = next;
    shown += 1;
  }
  if (shown === 0 && names.length > 0) {
    // One name longer than the room: its beginning, rather than nothing but a count.
    const tail = total > 1 ? ` and ${countFormat.format(total - 1)} more` : '';
    return `${boundedText(names[0]!, Math.max(0, maxChars - tail.length))}${tail}`;
  }
  if (shown === total) return text;
  if (shown === 0) return `${countFormat.format(total)} not named`;
  return `${text} and ${countFormat.format(total - shown)} more`;
}

/** `text` cut to at most `maxChars`, saying how much was cut. */
export function boundedText(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  const tail = (cut: number) => ` ... (${countFormat.format(cut)} more characters)`;
  // The tail's own length depends on the count it reports; one more character is always enough.
  const keep = maxChars - tail(text.length).length;
  return `${text.slice(0, Math.max(0, keep))}${tail(text.length - Math.max(0, keep))}`;
}

/**
 * The same error with its message (and the message inside its stack) cut to
 * MESSAGE_LIMIT_CHARS, so that the cause Step Functions records stays whole and under
 * CAUSE_LIMIT_CHARS. The error keeps its name, class and fields.
 */
export function boundError<E extends Error>(error: E): E {
  const message = error.message;
  if (message.length <= MESSAGE_LIMIT_CHARS && (error.stack?.length ?? 0) <= MESSAGE_LIMIT_CHARS)
    return error;
  const bounded = boundedText(message, MESSAGE_LIMIT_CHARS);
  const frames = (error.stack ?? '')
    .split('\n')
    .filter((line) => /^\s+at /.test(line))
    .slice(0, 20);
  Object.defineProperty(error, 'message', { value: bounded, configurable: true, writable: true });
  error.stack = [`${error.name}: ${bounded}`, ...frames].join('\n');
  return error;
}
