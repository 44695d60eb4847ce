import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/cli/format.js';
import { setPath } from '../../src/cli/update.js';

// `kopsless set ... FIELD=VALUE`: what a user types is a usage error when wrong, never a crash.
describe('setPath', () => {
  it('sets a nested field, reading the value as YAML', () => {
    const spec: Record<string, any> = { spec: { kubelet: {} } };

    setPath(spec, 'spec.kubelet.maxPods', '110');

    expect(spec.spec.kubelet.maxPods).toBe(110);
  });

  it('takes spec.kubernetesVersion as the text given, as kOps does: 1.34 is a version, not a number', () => {
    const cluster: Record<string, any> = { spec: { kubernetesVersion: '1.33.1' } };

    setPath(cluster, 'spec.kubernetesVersion', '1.34');

    expect(cluster.spec.kubernetesVersion).toBe('1.34');
  });

  it.each(['spec.__proto__.polluted', 'spec.constructor.prototype.polluted'])(
    'refuses %s, which would reach Object.prototype',
    (path) => {
      expect(() => setPath({ spec: {} }, path, 'yes')).toThrow(UsageError);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    },
  );

  it.each(['hasOwnProperty', 'toString', 'valueOf'])(
    'makes %s a field of its own, not a path into Object.prototype',
    (name) => {
      const target: Record<string, any> = { spec: {} };

      setPath(target, `spec.${name}.x`, '1');

      expect(Object.hasOwn(target.spec, name)).toBe(true);
      expect(target.spec[name]).toEqual({ x: 1 });
    },
  );

  it('refuses a path through a value that is not a mapping or a list', () => {
    expect(() =>
      setPath({ spec: { machineType: 't3.medium' } }, 'spec.machineType.size', 'big'),
    ).toThrow(
      'cannot set "spec.machineType.size": spec.machineType holds "t3.medium", not a mapping or a list',
    );
  });

  it.each([
    ['[1, 2', 'is not valid YAML'],
    ['*nowhere', 'cannot hold YAML aliases'],
    ['{a: 1, a: 2}', 'is not valid YAML'],
  ])('refuses the value %s as a usage error', (value, message) => {
    expect(() => setPath({ spec: {} }, 'spec.x', value)).toThrow(message);
    expect(() => setPath({ spec: {} }, 'spec.x', value)).toThrow(UsageError);
  });
});
