import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InvalidInputError, UnknownActionError } from '../../src/errors.js';
import { FUNCTIONS, STATE_MACHINES } from '../../src/functions-registry.js';
import {
  DELETE_EVENT,
  EXECUTION_INPUTS,
  LAUNCH_EVENT,
  MAX_MANIFEST_BYTES,
  MAX_ROLL_GROUPS,
  parseEvent,
  ROLLING_UPDATE_EVENT,
  VALIDATE_SPEC_EVENT,
  VERIFY_DNS_EVENT,
  validateExecutionInput,
  WRITE_STATE_EVENT,
} from '../../src/stages/inputs.js';
import { ROOT } from '../helpers.js';

function issuesOf(attempt: () => unknown): string {
  try {
    attempt();
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidInputError);
    return (error as Error).message;
  }
  throw new Error('expected InvalidInputError, nothing was thrown');
}

describe('execution inputs', () => {
  it('completes {"cluster":"c"} into a whole rolling-update input', () => {
    expect(validateExecutionInput('rolling-update', { cluster: 'c' })).toEqual({
      cluster: 'c',
      instanceGroups: [],
      force: false,
      cloudOnly: false,
      update: false,
      parallelGroups: 1,
      allowSameZone: false,
    });
  });

  it('keeps what the caller gave', () => {
    const input = {
      cluster: 'a.example.com',
      instanceGroups: ['nodes'],
      force: true,
      cloudOnly: true,
      update: true,
      parallelGroups: 4,
      allowSameZone: true,
    };

    expect(validateExecutionInput('rolling-update', input)).toEqual(input);
  });

  it.each([0, 21, -1])('refuses parallelGroups %j, naming the field and the range', (value) => {
    expect(
      issuesOf(() =>
        validateExecutionInput('rolling-update', { cluster: 'c', parallelGroups: value }),
      ),
    ).toBe('parallelGroups: Invalid value: must be an integer from 1 to 20');
  });

  it.each([
    [2.5, 'parallelGroups: expected integer, got float'],
    ['3', 'parallelGroups: expected number, got string'],
  ])('refuses parallelGroups %j that is not an integer, naming the field', (value, message) => {
    expect(
      issuesOf(() =>
        validateExecutionInput('rolling-update', { cluster: 'c', parallelGroups: value }),
      ),
    ).toBe(message);
  });

  it.each([1, 20])('accepts parallelGroups %j', (value) => {
    expect(
      validateExecutionInput('rolling-update', { cluster: 'c', parallelGroups: value })
        .parallelGroups,
    ).toBe(value);
  });

  it('names a missing cluster', () => {
    expect(issuesOf(() => validateExecutionInput('rolling-update', {}))).toBe(
      'cluster: Required value: expected string',
    );
  });

  it('names a cluster of the wrong type', () => {
    expect(issuesOf(() => validateExecutionInput('delete-cluster', { cluster: 1 }))).toBe(
      'cluster: expected string, got number',
    );
  });

  it('names instanceGroups when it is not a list', () => {
    expect(
      issuesOf(() =>
        validateExecutionInput('rolling-update', { cluster: 'c', instanceGroups: 'nodes' }),
      ),
    ).toBe('instanceGroups: expected array, got string');
  });

  it('names the element of instanceGroups that is wrong', () => {
    expect(
      issuesOf(() =>
        validateExecutionInput('rolling-update', { cluster: 'c', instanceGroups: ['nodes', 2] }),
      ),
    ).toBe('instanceGroups[1]: expected string, got number');
  });

  it('refuses a misspelt option instead of ignoring it', () => {
    expect(
      issuesOf(() =>
        validateExecutionInput('rolling-update', { cluster: 'c', instanceGroup: ['nodes'] }),
      ),
    ).toBe('instanceGroup: Forbidden: unknown field');
  });

  it('refuses a cluster name that is not a DNS name (it is the state store prefix)', () => {
    expect(
      issuesOf(() => validateExecutionInput('update-cluster', { cluster: '../other' })),
    ).toMatch(/^cluster: Invalid value: must be a DNS name/);
  });

  it('names a missing manifest for create', () => {
    expect(issuesOf(() => validateExecutionInput('create-cluster', {}))).toBe(
      'manifest: Required value: expected string',
    );
  });

  it('refuses an input that is not an object', () => {
    expect(issuesOf(() => validateExecutionInput('delete-cluster', 'c'))).toBe(
      '(input): expected object, got string',
    );
  });

  it('has a schema for every state machine', () => {
    expect(Object.keys(EXECUTION_INPUTS).sort()).toEqual(Object.values(STATE_MACHINES).sort());
  });
});

describe('execution input sizes (the state must stay under 256 KiB after the lock)', () => {
  const STATE_LIMIT = 256 * 1024;

  it('refuses a manifest over the cap, naming the field', () => {
    expect(
      issuesOf(() =>
        validateExecutionInput('create-cluster', { manifest: 'x'.repeat(MAX_MANIFEST_BYTES + 1) }),
      ),
    ).toBe(`manifest: Too long: may not be more than ${MAX_MANIFEST_BYTES} bytes`);
  });

  it('counts the manifest in bytes, not characters', () => {
    expect(
      issuesOf(() =>
        validateExecutionInput('create-cluster', {
          manifest: 'é'.repeat(MAX_MANIFEST_BYTES / 2 + 1),
        }),
      ),
    ).toContain('manifest: Too long');
  });

  it('accepts the largest manifest with room for a 32 KiB error cause and the instance group names it can hold', () => {
    const largest = { manifest: 'x'.repeat(MAX_MANIFEST_BYTES) };

    const state = JSON.stringify({
      ...validateExecutionInput('create-cluster', largest),
      spec: { instanceGroups: ['x'.repeat(MAX_MANIFEST_BYTES)] },
      error: { Error: 'E', Cause: 'x'.repeat(32768) },
    });

    expect(Buffer.byteLength(state)).toBeLessThan(STATE_LIMIT);
  });

  it('refuses more instance groups than the cap', () => {
    const instanceGroups = Array.from({ length: MAX_ROLL_GROUPS + 1 }, (_, i) => `g${i}`);

    expect(
      issuesOf(() => validateExecutionInput('rolling-update', { cluster: 'c', instanceGroups })),
    ).toBe(`instanceGroups: Too many: may not have more than ${MAX_ROLL_GROUPS} items`);
  });

  it('refuses an instance group name longer than a Kubernetes object name, naming its index', () => {
    expect(
      issuesOf(() =>
        validateExecutionInput('rolling-update', {
          cluster: 'c',
          instanceGroups: ['a', 'x'.repeat(254)],
        }),
      ),
    ).toBe('instanceGroups[1]: Too long: may not be more than 253 characters');
  });

  it('accepts the largest roll input, which stays far under the state limit', () => {
    const instanceGroups = Array.from({ length: MAX_ROLL_GROUPS }, (_, i) =>
      `${i}`.padEnd(253, 'x'),
    );

    const completed = validateExecutionInput('rolling-update', { cluster: 'c', instanceGroups });

    expect(Buffer.byteLength(JSON.stringify(completed)) * 2).toBeLessThan(STATE_LIMIT);
  });
});

describe('handler events', () => {
  it('passes the plan its parallelGroups and allowSameZone', () => {
    expect(
      parseEvent(ROLLING_UPDATE_EVENT, {
        action: 'plan',
        cluster: 'c',
        parallelGroups: 3,
        allowSameZone: true,
      }),
    ).toEqual({ action: 'plan', cluster: 'c', parallelGroups: 3, allowSameZone: true });
  });

  it('refuses a plan with parallelGroups out of range, naming the field', () => {
    expect(
      issuesOf(() =>
        parseEvent(ROLLING_UPDATE_EVENT, { action: 'plan', cluster: 'c', parallelGroups: 21 }),
      ),
    ).toMatch(/^parallelGroups: /);
  });

  it('keeps the instance group and the roster of a next step (zod would drop an unknown key)', () => {
    const roster = [
      {
        instanceGroup: 'nodes',
        role: 'Node',
        asgName: 'nodes.c',
        minSize: 1,
        maxSize: 2,
        zones: ['us-east-1a'],
        rollingUpdate: { maxSurge: '10%' },
      },
    ];

    expect(
      parseEvent(ROLLING_UPDATE_EVENT, {
        action: 'next',
        cluster: 'c',
        instanceGroup: 'nodes',
        options: { roster },
      }),
    ).toEqual({ action: 'next', cluster: 'c', instanceGroup: 'nodes', options: { roster } });
  });

  it("keeps a child's claim on its next step", () => {
    const event = {
      action: 'next',
      cluster: 'c',
      instanceGroup: 'nodes',
      options: {},
      claim: { owner: 'arn:parent', execution: 'arn:child' },
    };

    expect(parseEvent(ROLLING_UPDATE_EVENT, event)).toEqual(event);
  });

  it("refuses a child's requireLock that names no instance group or no execution, naming the fields", () => {
    expect(
      issuesOf(() =>
        parseEvent(WRITE_STATE_EVENT, { action: 'requireLock', cluster: 'c', owner: 'arn:parent' }),
      ),
    ).toMatch(/instanceGroup: .*; execution: /);
  });

  it('refuses a beginWave with no instance groups, naming the field', () => {
    expect(
      issuesOf(() =>
        parseEvent(WRITE_STATE_EVENT, {
          action: 'beginWave',
          cluster: 'c',
          owner: 'arn:parent',
          instanceGroups: [],
        }),
      ),
    ).toMatch(/^instanceGroups: /);
  });

  it('refuses an unknown action with UnknownActionError listing the ones there are', () => {
    const attempt = () =>
      parseEvent(WRITE_STATE_EVENT, {
        action: 'aquireLock',
        cluster: 'c',
        owner: 'o',
        operation: 'create',
      });

    expect(attempt).toThrow(UnknownActionError);
    expect(attempt).toThrow(
      /unknown action "aquireLock": this handler takes validateInput, acquireLock, register/,
    );
  });

  it('refuses an event with no action as an unknown action', () => {
    expect(() => parseEvent(LAUNCH_EVENT, { cluster: 'c' })).toThrow(/unknown action undefined/);
  });

  it('names a field the ASL forgot to pass', () => {
    expect(
      issuesOf(() =>
        parseEvent(VERIFY_DNS_EVENT, {
          action: 'check',
          cluster: 'c',
          deadline: '2026-01-01T00:00:00.000Z',
        }),
      ),
    ).toBe('changeId: Required value: expected string');
  });

  it('names a nested field of a roll step', () => {
    const step = {
      kind: 'replace',
      instanceGroup: 'nodes',
      asgName: 'nodes.c',
      instanceIds: ['i-1'],
      detachedIds: [],
      controlPlane: 'no',
    };

    expect(
      issuesOf(() => parseEvent(ROLLING_UPDATE_EVENT, { action: 'terminate', cluster: 'c', step })),
    ).toBe('step.controlPlane: expected boolean, got string');
  });

  it('refuses a deadline that is not a time', () => {
    expect(
      issuesOf(() =>
        parseEvent(DELETE_EVENT, { action: 'awaitInstances', cluster: 'c', deadline: 'soon' }),
      ),
    ).toMatch(/^deadline: Invalid value: expected an ISO 8601 time/);
  });

  const schemas: Partial<Record<string, Parameters<typeof parseEvent>[0]>> = {
    'write-state': WRITE_STATE_EVENT,
    'launch-cluster': LAUNCH_EVENT,
    'verify-dns': VERIFY_DNS_EVENT,
    'rolling-update': ROLLING_UPDATE_EVENT,
    'delete-cluster': DELETE_EVENT,
    'validate-spec': VALIDATE_SPEC_EVENT,
  };
  const samples = readdirSync(join(ROOT, 'events')).filter(
    (f) =>
      f.endsWith('.json') &&
      !f.endsWith('.execution-input.json') &&
      (Object.values(FUNCTIONS) as string[]).includes(f.split('.')[0]!) &&
      schemas[f.split('.')[0]!],
  );

  it.each(samples)('accepts the sample event %s', (file) => {
    const event = JSON.parse(readFileSync(join(ROOT, 'events', file), 'utf8'));

    expect(() => parseEvent(schemas[file.split('.')[0]!]!, event)).not.toThrow();
  });

  it.each(Object.keys(EXECUTION_INPUTS))('accepts the sample execution input of %s', (machine) => {
    const input = JSON.parse(
      readFileSync(join(ROOT, 'events', `${machine}.execution-input.json`), 'utf8'),
    );

    expect(() =>
      validateExecutionInput(machine as keyof typeof EXECUTION_INPUTS, input),
    ).not.toThrow();
  });
});
