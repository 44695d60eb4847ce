import { CLUSTER_OBJECTS as STORE } from '../state/layout.js';
import { queryParameters } from './aws-requests.js';
import { CLUSTER_TAG, clusterTags, ETCD_VOLUME_TAG, ownerTag } from './names.js';
import { shellQuote } from './shell.js';

/** Size of the control plane's etcd volume. */
export const ETCD_VOLUME_GB = 20;

/**
 * What lets a replacement control-plane instance serve the same cluster: etcd's data on an EBS
 * volume of its own (found again by its tags in the zone), and the cluster CA and service-account
 * keys in the state store (readable by the control plane's role only). The bash functions the
 * control plane's boot script (user-data.ts) defines and calls.
 */
export function controlPlaneState(
  cluster: string,
  instanceGroup: string,
  deployment: string,
): string[] {
  // EC2 Query API parameters, each one quoted word: a value is data whatever it holds.
  const tagFilters = queryParameters([
    { name: `tag:${CLUSTER_TAG}`, values: [cluster] },
    { name: `tag:${ETCD_VOLUME_TAG}`, values: [instanceGroup] },
  ]);
  const tagSpecifications = queryParameters([], {
    resourceType: 'volume',
    // The owner tag, set only at creation, is what the delete stage requires to remove it.
    tags: [
      ...clusterTags(cluster),
      ownerTag(deployment),
      { Key: ETCD_VOLUME_TAG, Value: instanceGroup },
    ],
  });
  return [
    '',
    `readonly ETCD_VOLUME_GB=${shellQuote(ETCD_VOLUME_GB)}`,
    `readonly ETCD_VOLUME_TAG_FILTERS=(${tagFilters.join(' ')})`,
    `readonly ETCD_VOLUME_TAG_SPECIFICATIONS=(${tagSpecifications.join(' ')})`,
    '',
    'attach_etcd_volume() {',
    '  local volume disk=""',
    '  volume="$(ec2_request DescribeVolumes "${ETCD_VOLUME_TAG_FILTERS[@]}" \\',
    '    "Filter.3.Name=availability-zone" "Filter.3.Value.1=${ZONE}" | xml_value volumeId)"',
    '  if [ -z "${volume}" ]; then',
    // One volume per instance however often curl retries the call: EC2 answers a repeated
    // ClientToken with the volume the first call made.
    '    volume="$(ec2_request CreateVolume "ClientToken=etcd-${INSTANCE_ID}" "AvailabilityZone=${ZONE}" "Size=${ETCD_VOLUME_GB}" "VolumeType=gp3" "Encrypted=true" \\',
    '      "${ETCD_VOLUME_TAG_SPECIFICATIONS[@]}" | xml_value volumeId)"',
    '    [ -n "${volume}" ] || { log "creating the etcd volume returned no volume ID"; exit 1; }',
    '    until [ "$(ec2_request DescribeVolumes "VolumeId.1=${volume}" | xml_value status)" = "available" ]; do',
    '      sleep 5',
    '    done',
    '  fi',
    '  # The instance being replaced may still hold the volume; it frees up when that one terminates.',
    '  until ec2_request AttachVolume "VolumeId=${volume}" "InstanceId=${INSTANCE_ID}" "Device=/dev/xvdf" >/dev/null 2>&1; do',
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
    `  if state_store_has ${STORE.controlPlanePki}; then`,
    '    log "restoring the cluster CA and service-account keys from the state store"',
    `    state_store_read ${STORE.controlPlanePki} | tar -xz -C /etc/kubernetes/pki`,
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
export function controlPlaneJoinState(): string[] {
  return [
    '',
    '# Succeeds on the one instance that initialises the cluster (also when this boot is retried on it).',
    '# The initializer key is a secret too: written under SECRETS_KEY (state_store_write_secret).',
    'claim_control_plane_init() {',
    '  local answer holder',
    `  until answer="$(printf "%s" "\${INSTANCE_ID}" | state_store_write_secret ${STORE.controlPlaneInitializer} create-only 2>&1)"; do`,
    '    case "${answer}" in',
    '      *"returned error: 412"*) break ;;',
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
