import { CLUSTER_OBJECTS as STORE } from '../state/layout.js';
import { CLUSTER_TAG, clusterTags, ETCD_VOLUME_TAG } from './names.js';
import { shellQuote } from './shell.js';

/** Size of the control plane's etcd volume. */
export const ETCD_VOLUME_GB = 20;

/**
 * What lets a replacement control-plane instance serve the same cluster: etcd's data on an EBS
 * volume of its own (found again by its tags in the zone), and the cluster CA and service-account
 * keys in the state store (readable by the control plane's role only). The bash functions the
 * control plane's boot script (user-data.ts) defines and calls.
 */
export function controlPlaneState(cluster: string, instanceGroup: string): string[] {
  // JSON rather than the AWS CLI's shorthand, in which a comma or bracket in a value would be syntax.
  const tagFilters = [
    { Name: `tag:${CLUSTER_TAG}`, Values: [cluster] },
    { Name: `tag:${ETCD_VOLUME_TAG}`, Values: [instanceGroup] },
  ]
    .map((f) => JSON.stringify(f))
    .join(',');
  const tagSpecifications = JSON.stringify([
    {
      ResourceType: 'volume',
      Tags: [...clusterTags(cluster), { Key: ETCD_VOLUME_TAG, Value: instanceGroup }],
    },
  ]);
  return [
    '',
    `readonly ETCD_VOLUME_GB=${shellQuote(ETCD_VOLUME_GB)}`,
    `readonly ETCD_VOLUME_TAG_FILTERS=${shellQuote(tagFilters)}`,
    `readonly ETCD_VOLUME_TAG_SPECIFICATIONS=${shellQuote(tagSpecifications)}`,
    '',
    'attach_etcd_volume() {',
    '  local volume disk="" filters',
    '  printf -v filters \'[%s,{"Name":"availability-zone","Values":["%s"]}]\' "${ETCD_VOLUME_TAG_FILTERS}" "${ZONE}"',
    '  volume="$(aws --region="${AWS_REGION}" ec2 describe-volumes --filters "${filters}" \\',
    "    --query 'Volumes[0].VolumeId' --output text)\"",
    '  if [ -z "${volume}" ] || [ "${volume}" = "None" ]; then',
    '    volume="$(aws --region="${AWS_REGION}" ec2 create-volume --availability-zone "${ZONE}" --size "${ETCD_VOLUME_GB}" --volume-type gp3 --encrypted \\',
    '      --tag-specifications "${ETCD_VOLUME_TAG_SPECIFICATIONS}" --query VolumeId --output text)"',
    '    aws --region="${AWS_REGION}" ec2 wait volume-available --volume-ids "${volume}"',
    '  fi',
    '  # The instance being replaced may still hold the volume; it frees up when that one terminates.',
    '  until aws --region="${AWS_REGION}" ec2 attach-volume --volume-id "${volume}" --instance-id "${INSTANCE_ID}" --device /dev/xvdf >/dev/null 2>&1; do',
    '    log "waiting to attach etcd volume ${volume}"',
    '    sleep 10',
    '  done',
    '  # Nitro instances show EBS volumes as NVMe disks whose serial is the volume ID without its dash.',
    '  until [ -n "${disk}" ]; do',
    '    disk="$(lsblk -dno NAME,SERIAL | awk -v id="${volume/-/}" \'$2 == id {print "/dev/" $1}\')"',
    '    if [ -z "${disk}" ] && [ -b /dev/xvdf ]; then disk=/dev/xvdf; fi',
    '    if [ -z "${disk}" ]; then sleep 2; fi',
    '  done',
    '  blkid "${disk}" >/dev/null || mkfs.ext4 -q -L etcd "${disk}"',
    '  install -d -m 0700 /var/lib/etcd',
    '  grep -q "LABEL=etcd" /etc/fstab || echo "LABEL=etcd /var/lib/etcd ext4 defaults,nofail 0 2" | tee -a /etc/fstab >/dev/null',
    '  mount /var/lib/etcd',
    '}',
    '',
    'restore_control_plane_pki() {',
    '  install -d -m 0700 /etc/kubernetes/pki',
    `  if aws --region="\${AWS_REGION}" s3 ls "\${STATE_STORE}/${STORE.controlPlanePki}" >/dev/null 2>&1; then`,
    '    log "restoring the cluster CA and service-account keys from the state store"',
    `    aws --region="\${AWS_REGION}" s3 cp "\${STATE_STORE}/${STORE.controlPlanePki}" - | tar -xz -C /etc/kubernetes/pki`,
    '  fi',
    '}',
    '',
    'save_control_plane_pki() {',
    '  tar -cz -C /etc/kubernetes/pki ca.crt ca.key sa.key sa.pub front-proxy-ca.crt front-proxy-ca.key etcd/ca.crt etcd/ca.key |',
    `    state_store_write_secret ${STORE.controlPlanePki}`,
    '}',
  ];
}

/**
 * The bash functions of a highly available control plane's boot script (user-data.ts). Exactly
 * one instance runs `kubeadm init`: the first to write the initializer key of the state store
 * with `If-None-Match: *` (S3 answers every later writer 412). Every other instance, and every
 * later replacement (the key outlives its writer), restores the cluster's CAs from the state
 * store and runs `kubeadm join --control-plane`, which adds its stacked etcd member. The
 * initialiser publishes an etcd client certificate for the member API the roll uses.
 */
export function controlPlaneJoinState(
  cluster: string,
  stateBucket: string,
  underSecretsKey: boolean,
): string[] {
  const initializerKey = `${cluster}/${STORE.controlPlaneInitializer}`;
  // The initializer key is a secret too: written under SECRETS_KEY (see secretWriteSteps).
  const sse = underSecretsKey
    ? ' --server-side-encryption aws:kms --ssekms-key-id "${SECRETS_KEY}" --bucket-key-enabled'
    : '';
  return [
    '',
    `readonly STATE_BUCKET=${shellQuote(stateBucket)}`,
    `readonly INITIALIZER_KEY=${shellQuote(initializerKey)}`,
    '',
    '# Succeeds on the one instance that initialises the cluster (also when this boot is retried on it).',
    'claim_control_plane_init() {',
    '  local claim answer holder',
    '  claim="$(mktemp)"',
    '  printf "%s" "${INSTANCE_ID}" >"${claim}"',
    '  until answer="$(aws --region="${AWS_REGION}" s3api put-object --bucket "${STATE_BUCKET}" --key "${INITIALIZER_KEY}" \\',
    `    --body "\${claim}" --if-none-match "*"${sse} 2>&1)"; do`,
    '    case "${answer}" in',
    '      *PreconditionFailed* | *"(412)"*) break ;;',
    '    esac',
    '    log "claiming kubeadm init failed, retrying: ${answer}"',
    '    sleep 5',
    '  done',
    `  holder="$(state_store_read ${STORE.controlPlaneInitializer})"`,
    '  [ "${holder}" = "${INSTANCE_ID}" ]',
    '}',
    '',
    '# The member API client certificate (kubeadm signs apiserver-etcd-client with the etcd CA), as JSON.',
    'publish_etcd_client() {',
    '  python3 -c \'import json, sys; print(json.dumps({k: open(p).read() for k, p in zip(("ca", "cert", "key"), sys.argv[1:])}))\' \\',
    '    /etc/kubernetes/pki/etcd/ca.crt /etc/kubernetes/pki/apiserver-etcd-client.crt /etc/kubernetes/pki/apiserver-etcd-client.key |',
    `    state_store_write_secret ${STORE.etcdClient}`,
    '}',
    '',
    'join_control_plane() {',
    `  until CA_CERT_HASH="$(state_store_read ${STORE.caCertHash})"; do`,
    '    log "waiting for the initialising control plane to publish its CA hash"',
    '    sleep 10',
    '  done',
    '  restore_control_plane_pki',
    '  attach_etcd_volume',
    '  # A new member starts empty: the volume may hold the data of the member this instance replaces, which etcd removed.',
    '  find /var/lib/etcd -mindepth 1 -delete',
    '  write_kubeadm_join_config',
    '  kubeadm join --config /etc/kubernetes/kubeadm.yaml',
    '}',
  ];
}
