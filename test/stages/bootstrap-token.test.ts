import { describe, expect, it } from 'vitest';
import { BOOTSTRAP_TOKEN_RENEW_AFTER_SECONDS } from '../../src/planning/bootstrap-token.js';
import { renewBootstrapToken } from '../../src/stages/bootstrap-token.js';
import { storeKey } from '../../src/state/layout.js';
import { memoryObjects } from '../support/memory-objects.js';

const cluster = 'a.example.com';
const issuedAt = new Date('2026-01-01T00:00:00Z');
const later = (seconds: number) => new Date(issuedAt.getTime() + seconds * 1000);
const token = async (objects: ReturnType<typeof memoryObjects>) =>
  (await objects.get(storeKey.bootstrapToken(cluster)))?.body;

describe('bootstrap token renewal before instances launch', () => {
  it('writes a token and its time when the store has no time for it', async () => {
    const objects = memoryObjects();
    await objects.put(storeKey.bootstrapToken(cluster), 'abcdef.0123456789abcdef');

    const result = await renewBootstrapToken(cluster, objects, issuedAt);

    expect(result).toEqual({ renewed: true, issuedAt: issuedAt.toISOString() });
    expect(await token(objects)).toMatch(/^[a-z0-9]{6}\.[a-z0-9]{16}$/);
    expect(await token(objects)).not.toBe('abcdef.0123456789abcdef');
  });

  it('keeps a token younger than half its TTL', async () => {
    const objects = memoryObjects();
    await renewBootstrapToken(cluster, objects, issuedAt);
    const first = await token(objects);

    const result = await renewBootstrapToken(
      cluster,
      objects,
      later(BOOTSTRAP_TOKEN_RENEW_AFTER_SECONDS - 1),
    );

    expect(result.renewed).toBe(false);
    expect(await token(objects)).toBe(first);
  });

  it('replaces a token half its TTL old', async () => {
    const objects = memoryObjects();
    await renewBootstrapToken(cluster, objects, issuedAt);
    const first = await token(objects);

    const result = await renewBootstrapToken(
      cluster,
      objects,
      later(BOOTSTRAP_TOKEN_RENEW_AFTER_SECONDS),
    );

    expect(result.renewed).toBe(true);
    expect(await token(objects)).not.toBe(first);
  });

  it('replaces a token whose time is unreadable or in the future', async () => {
    for (const body of ['yesterday', later(3600).toISOString()]) {
      const objects = memoryObjects();
      await objects.put(storeKey.bootstrapTokenIssued(cluster), body);

      expect((await renewBootstrapToken(cluster, objects, issuedAt)).renewed).toBe(true);
    }
  });
});
