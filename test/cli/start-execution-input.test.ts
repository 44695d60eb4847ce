import { describe, expect, it } from 'vitest';
import type { CliContext } from '../../src/cli/context.js';
import { UsageError } from '../../src/cli/format.js';
import { readExecutionInput, runStartExecution } from '../../src/cli/start-execution.js';
import { InvalidInputError } from '../../src/errors.js';

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

    expect(() => readExecutionInput('@missing.json', read)).toThrow(
      new UsageError(
        '--input @missing.json: cannot read the file: ENOENT: no such file or directory',
      ),
    );
  });

  it('refuses text that is not JSON as a usage error', () => {
    expect(() => readExecutionInput('cluster=c')).toThrow(UsageError);
  });
});

describe('start-execution refused before it starts', () => {
  const refusing = {
    where: 'local',
    run: async () => {
      throw new InvalidInputError([
        {
          path: '(input)',
          message:
            'Too long: 300000 bytes, more than the 262144 bytes (256 KiB) Step Functions accepts',
        },
      ]);
    },
  } as unknown as CliContext;
  const capture = () => {
    const out: string[] = [];
    const err: string[] = [];
    return { out, err, io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) } };
  };

  it('exits 2 (no execution exists) and prints a JSON error object with -o json', async () => {
    const { out, io } = capture();

    const code = await runStartExecution(
      'create-cluster',
      { input: '{"manifest":"x"}', output: 'json' },
      refusing,
      io,
    );

    expect(code).toBe(2);
    expect(JSON.parse(out.join('\n'))).toMatchObject({
      executionArn: null,
      status: null,
      error: 'InvalidInputError',
      cause: expect.stringContaining('Too long'),
      output: null,
    });
  });

  it('exits 2 and names the error on stderr in text mode', async () => {
    const { err, io } = capture();

    const code = await runStartExecution(
      'create-cluster',
      { input: '{"manifest":"x"}' },
      refusing,
      io,
    );

    expect(code).toBe(2);
    expect(err).toEqual([
      expect.stringMatching(/^InvalidInputError: \(input\): Too long.*no execution was started/),
    ]);
  });
});
