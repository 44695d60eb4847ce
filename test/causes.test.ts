import { describe, expect, it } from 'vitest';
import {
  boundError,
  boundedText,
  CAUSE_LIMIT_CHARS,
  MESSAGE_LIMIT_CHARS,
  namesWithin,
} from '../src/causes.js';
import { DrainTimeoutError } from '../src/errors.js';

const pods = (n: number) => Array.from({ length: n }, (_, i) => `default/web-${i}`);

describe('namesWithin', () => {
  it('lists every name when they fit', () => {
    expect(namesWithin(['a', 'b', 'c'])).toBe('a, b, c');
  });

  it('lists the first names that fit, then counts the rest', () => {
    const text = namesWithin(pods(5_000), { maxChars: 200 });

    expect(text.length).toBeLessThanOrEqual(200);
    expect(text).toMatch(/^default\/web-0, default\/web-1, .* and 4,9\d\d more$/);
    const shown = text.split(' and ')[0]!.split(', ').length;
    expect(text.endsWith(`and ${(5_000 - shown).toLocaleString('en-US')} more`)).toBe(true);
  });

  it('counts names the caller did not keep', () => {
    expect(namesWithin(['a', 'b'], { total: 7 })).toBe('a, b and 5 more');
  });

  it('cuts one name longer than the room rather than dropping it', () => {
    const text = namesWithin(['x'.repeat(500), 'y'], { maxChars: 100 });

    expect(text.length).toBeLessThanOrEqual(100);
    expect(text).toMatch(/^x+ \.\.\. \(\d+ more characters\) and 1 more$/);
  });
});

describe('boundedText', () => {
  it('keeps short text as it is and cuts long text to the limit, saying how much', () => {
    expect(boundedText('short', 10)).toBe('short');
    const cut = boundedText('z'.repeat(100_000), 1_000);
    expect(cut.length).toBeLessThanOrEqual(1_000);
    expect(cut).toMatch(/ \.\.\. \([\d,]+ more characters\)$/);
  });
});

describe('boundError', () => {
  it('keeps the cause a Lambda reports under 32,768 characters, name and class kept', () => {
    const error = new DrainTimeoutError(`pods still running: ${pods(50_000).join(', ')}`);

    const bounded = boundError(error);
    // What the Lambda runtime reports as the cause of a failed invocation.
    const cause = JSON.stringify({
      errorType: bounded.name,
      errorMessage: bounded.message,
      trace: bounded.stack?.split('\n'),
    });

    expect(bounded).toBeInstanceOf(DrainTimeoutError);
    expect(bounded.name).toBe('DrainTimeoutError');
    expect(bounded.message.length).toBeLessThanOrEqual(MESSAGE_LIMIT_CHARS);
    expect(bounded.message.startsWith('pods still running: default/web-0, ')).toBe(true);
    expect(cause.length).toBeLessThan(CAUSE_LIMIT_CHARS);
  });

  it('leaves a short error untouched', () => {
    const error = new Error('small');
    const stack = error.stack;

    expect(boundError(error).stack).toBe(stack);
  });
});
