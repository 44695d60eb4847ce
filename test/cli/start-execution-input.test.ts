import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/cli/format.js';
import { readExecutionInput } from '../../src/cli/start-execution.js';

describe('start-execution --input', () => {
  it('parses JSON given inline', () => {
    expect(readExecutionInput('{"cluster":"c"}')).toEqual({ cluster: 'c' });
  });

  it('reads @FILE', () => {
    const read = (path: string) => (path === 'in.json' ? '{"cluster":"from-file"}' : '');

    expect(readExecutionInput('@in.json', read)).toEqual({ cluster: 'from-file' });
  });

  it('names the file it cannot read', () => {
    const read = () => {
      throw new Error('ENOENT: no such file or directory');
    };

    expect(() => readExecutionInput('@missing.json', read)).toThrow(new UsageError('--input @missing.json: cannot read the file: ENOENT: no such file or directory'));
  });

  it('refuses text that is not JSON as a usage error', () => {
    expect(() => readExecutionInput('cluster=c')).toThrow(UsageError);
  });
});
