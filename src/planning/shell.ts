/**
 * Quotes a value for bash: single quotes, with embedded ones closed and escaped. Inside single
 * quotes bash interprets nothing (newlines included), so any text comes out as the same data.
 */
export function shellQuote(value: string | number): string {
  const text = String(value);
  // Bash strings cannot hold a NUL; validation refuses one in every field that gets here.
  if (text.includes('\0'))
    throw new TypeError('a NUL character cannot be passed to the boot script');
  return `'${text.replace(/'/g, `'\\''`)}'`;
}
