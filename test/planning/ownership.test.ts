import { describe, expect, it } from 'vitest';
import { isOwnedBy, ownerOf, requireOwned } from '../../src/planning/ownership.js';

describe('ownership by the KubernetesCluster tag', () => {
  it('reads the owner from a tag list and from a tag map', () => {
    expect(
      ownerOf([
        { Key: 'Name', Value: 'x' },
        { Key: 'KubernetesCluster', Value: 'a.example.com' },
      ]),
    ).toBe('a.example.com');
    expect(ownerOf({ KubernetesCluster: 'b.example.com' })).toBe('b.example.com');
    expect(ownerOf(undefined)).toBeUndefined();
  });

  it('owns only on an exact match of the cluster name', () => {
    expect(isOwnedBy({ KubernetesCluster: 'x.y-z.example.com' }, 'x-y.z.example.com')).toBe(false);
    expect(isOwnedBy({ KubernetesCluster: 'x.y-z.example.com' }, 'x.y-z.example.com')).toBe(true);
  });

  it('refuses a resource of another cluster, naming the owner', () => {
    expect(() =>
      requireOwned(
        'Auto Scaling group g',
        { KubernetesCluster: 'other.example.com' },
        'mine.example.com',
      ),
    ).toThrow(
      expect.objectContaining({
        name: 'ResourceOwnedError',
        message: expect.stringContaining(
          'Auto Scaling group g is owned by cluster other.example.com',
        ),
      }),
    );
  });

  it('refuses a resource with no cluster tag', () => {
    expect(() => requireOwned('launch template t', [], 'mine.example.com')).toThrow(
      expect.objectContaining({
        name: 'ResourceOwnedError',
        message: expect.stringContaining('is not tagged KubernetesCluster=mine.example.com'),
      }),
    );
  });
});
