import { BOOTSTRAP_TOKEN_RENEW_AFTER_SECONDS } from '../planning/bootstrap-token.js';
import { newBootstrapToken } from '../state/cluster-store.js';
import { storeKey } from '../state/layout.js';
import type { ObjectStore } from '../state/object-store.js';

/**
 * Renewal of the kubeadm bootstrap token, by the stages that launch instances: when the stored
 * token was written more than half its TTL ago (or its time is unknown), a new one replaces it,
 * so a node launched now joins with a token the API server keeps accepting for at least half a
 * day (control-plane instances register the stored token with kubeadm; planning/bootstrap-token.ts).
 * The token is written before its time: a renewal cut short is simply redone.
 */
export async function renewBootstrapToken(
  cluster: string,
  objects: Pick<ObjectStore, 'get' | 'put'>,
  now: Date,
): Promise<{ renewed: boolean; issuedAt: string }> {
  const issued = await objects.get(storeKey.bootstrapTokenIssued(cluster));
  const issuedAt = issued ? Date.parse(issued.body.trim()) : Number.NaN;
  const age = (now.getTime() - issuedAt) / 1000;
  if (Number.isFinite(issuedAt) && age >= 0 && age < BOOTSTRAP_TOKEN_RENEW_AFTER_SECONDS)
    return { renewed: false, issuedAt: new Date(issuedAt).toISOString() };
  await objects.put(storeKey.bootstrapToken(cluster), newBootstrapToken());
  await objects.put(storeKey.bootstrapTokenIssued(cluster), `${now.toISOString()}\n`);
  return { renewed: true, issuedAt: now.toISOString() };
}
