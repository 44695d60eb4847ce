import { CLUSTER_OBJECTS as STORE } from '../state/layout.js';

/**
 * The kubeadm bootstrap token's lifetime. kubeadm creates it with a TTL of a day; the launch stage
 * writes a fresh one to the state store once the current one is half that old, and each
 * control-plane instance registers whatever token the store holds every few minutes. A node
 * launched at any time therefore finds a token in the store that the API server accepts (the
 * previous one stays valid for at least half a day after it is replaced), and a token that leaks
 * stops working within a day.
 */

/** kubeadm's TTL for every token kopsless creates: the most a leaked token is worth. */
export const BOOTSTRAP_TOKEN_TTL = '24h0m0s';
/** How old the stored token may get before the launch stage writes a new one. */
export const BOOTSTRAP_TOKEN_RENEW_AFTER_SECONDS = 12 * 60 * 60;
/** How often a control-plane instance registers the stored token with kubeadm. */
const SYNC_EVERY = '2min';

/**
 * Boot-script steps (control plane only): `install_bootstrap_token_sync` installs a systemd
 * timer that reads the stored token and, when the API server does not know it, creates it with
 * kubeadm. Everything written is a quoted heredoc or a `printf %q` of a variable: data only.
 */
export function bootstrapTokenSyncSteps(): string[] {
  return [
    '',
    'install_bootstrap_token_sync() {',
    '  install -d -m 0700 /etc/kopsless',
    '  printf "STATE_STORE=%q\\nAWS_REGION=%q\\n" "${STATE_STORE}" "${AWS_REGION}" | tee /etc/kopsless/state-store.env >/dev/null',
    "  # The boot script's own request functions (curl signs with the instance role), as bash prints them.",
    '  declare -f imds instance_credentials aws_request s3_request state_store_read | tee /etc/kopsless/state-store.sh >/dev/null',
    "  verbatim <<'TOKENSYNC' | tee /usr/local/sbin/kopsless-bootstrap-token >/dev/null",
    '#!/bin/bash',
    '# Registers the bootstrap token the state store holds (the launch stage renews it) with kubeadm.',
    'set -o errexit -o nounset -o pipefail',
    '. /etc/kopsless/state-store.env',
    '. /etc/kopsless/state-store.sh',
    `token="$(state_store_read ${STORE.bootstrapToken})"`,
    'known="$(kubeadm token list --kubeconfig /etc/kubernetes/admin.conf | awk \'NR > 1 { print $1 }\')"',
    'if ! printf "%s\\n" "${known}" | grep -qxF -- "${token}"; then',
    `  kubeadm token create "\${token}" --ttl ${BOOTSTRAP_TOKEN_TTL} --kubeconfig /etc/kubernetes/admin.conf >/dev/null`,
    'fi',
    'TOKENSYNC',
    '  chmod 0700 /usr/local/sbin/kopsless-bootstrap-token',
    "  verbatim <<'TOKENUNIT' | tee /etc/systemd/system/kopsless-bootstrap-token.service >/dev/null",
    '[Unit]',
    'Description=kopsless: register the bootstrap token of the state store with kubeadm',
    '[Service]',
    'Type=oneshot',
    'ExecStart=/usr/local/sbin/kopsless-bootstrap-token',
    'TOKENUNIT',
    "  verbatim <<'TOKENUNIT' | tee /etc/systemd/system/kopsless-bootstrap-token.timer >/dev/null",
    '[Unit]',
    'Description=kopsless: keep the bootstrap token of the state store registered',
    '[Timer]',
    `OnBootSec=${SYNC_EVERY}`,
    `OnUnitActiveSec=${SYNC_EVERY}`,
    '[Install]',
    'WantedBy=timers.target',
    'TOKENUNIT',
    '  systemctl daemon-reload',
    '  systemctl enable --now kopsless-bootstrap-token.timer',
    '}',
  ];
}
