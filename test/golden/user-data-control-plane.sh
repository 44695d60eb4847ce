#!/bin/bash
# kopsless bootstrap: cluster "seed.example.com", instance group "control-plane-us-east-1a" (role "Master").
# Rendered by kopsless from the cluster spec; a change here is a change of the group's spec hash.
# kopsless-bootstrap-settings: {"KubernetesVersion":"1.32.0","maxPods":"17","VPC CNI":"1.23.1"}
set -o errexit -o nounset -o pipefail

readonly CLUSTER_NAME='seed.example.com'
readonly INSTANCE_GROUP='control-plane-us-east-1a'
readonly AWS_REGION='us-east-1'

log() { printf 'kopsless-bootstrap[%s.%s]: %s\n' "${INSTANCE_GROUP}" "${CLUSTER_NAME}" "$*" >&2; }

readonly STATE_BUCKET_URL='https://state-bucket.s3.us-east-1.amazonaws.com'
readonly STATE_STORE='https://state-bucket.s3.us-east-1.amazonaws.com/seed.example.com'
readonly KUBERNETES_VERSION='1.32.0'
readonly KUBERNETES_MINOR='v1.32'
readonly MAX_PODS='17'
readonly KUBECONFIG_SERVER='"https://api.internal.seed.example.com:443"'

install_packages() {
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q apt-transport-https ca-certificates curl gpg containerd
  install -d -m 0755 /etc/apt/keyrings
  curl -fsSL "https://pkgs.k8s.io/core:/stable:/${KUBERNETES_MINOR}/deb/Release.key" | gpg --dearmor --yes -o /etc/apt/keyrings/kubernetes-apt-keyring.gpg
  echo "deb [signed-by=/etc/apt/keyrings/kubernetes-apt-keyring.gpg] https://pkgs.k8s.io/core:/stable:/${KUBERNETES_MINOR}/deb/ /" | tee /etc/apt/sources.list.d/kubernetes.list >/dev/null
  apt-get update -q
  apt-get install -y -q "kubelet=${KUBERNETES_VERSION}-*" "kubeadm=${KUBERNETES_VERSION}-*" "kubectl=${KUBERNETES_VERSION}-*"
  apt-mark hold kubelet kubeadm kubectl
}

configure_kernel() {
  printf "overlay\nbr_netfilter\n" | tee /etc/modules-load.d/kubernetes.conf >/dev/null
  modprobe overlay
  modprobe br_netfilter
  printf "net.bridge.bridge-nf-call-iptables = 1\nnet.bridge.bridge-nf-call-ip6tables = 1\nnet.ipv4.ip_forward = 1\n" | tee /etc/sysctl.d/99-kubernetes.conf >/dev/null
  sysctl --system >/dev/null
}

configure_containerd() {
  install -d -m 0755 /etc/containerd
  containerd config default | sed "s/SystemdCgroup = false/SystemdCgroup = true/" | tee /etc/containerd/config.toml >/dev/null
  systemctl restart containerd
}

imds() {
  local token
  token="$(curl -fsS --retry 5 --retry-connrefused -X PUT http://169.254.169.254/latest/api/token -H "X-aws-ec2-metadata-token-ttl-seconds: 300")"
  curl -fsS --retry 5 --retry-connrefused -H @<(printf "X-aws-ec2-metadata-token: %s\n" "${token}") "http://169.254.169.254/latest/meta-data/$1"
}

readonly EC2_URL='https://ec2.us-east-1.amazonaws.com/'

# curl signs the AWS requests itself (--aws-sigv4): no AWS CLI is downloaded.
require_curl_sigv4() {
  local version major minor
  read -r _ version _ < <(curl --version)
  major="${version%%.*}"
  minor="${version#*.}"
  minor="${minor%%.*}"
  if ((major < 7 || (major == 7 && minor < 87))); then
    log "curl ${version} cannot sign S3 requests: 7.87 or later is needed"
    exit 1
  fi
}

# A curl config holding the instance role credentials: read through a pipe, never on a command line.
instance_credentials() {
  local role
  role="$(imds iam/security-credentials/)"
  imds "iam/security-credentials/${role}" |
    python3 -c 'import json, sys; c = json.load(sys.stdin); print("user = " + json.dumps(c["AccessKeyId"] + ":" + c["SecretAccessKey"])); print("header = " + json.dumps("x-amz-security-token: " + c["Token"]))'
}

aws_request() {
  local service="$1" url="$2"
  shift 2
  curl -fsS --retry 5 --aws-sigv4 "aws:amz:${AWS_REGION}:${service}" -K <(instance_credentials) "$@" "${url}"
}

s3_request() {
  local url="$1"
  shift
  aws_request s3 "${url}" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$@"
}

# One EC2 Query API call, its parameters form-encoded (curl signs the body's hash); prints the XML answer.
ec2_request() {
  local parameter options=()
  for parameter in "Action=$1" "Version=2016-11-15" "${@:2}"; do
    options+=(--data-urlencode "${parameter}")
  done
  aws_request ec2 "${EC2_URL}" "${options[@]}"
}

# The text of the first <TAG> element of the XML on stdin (nothing when there is none).
xml_value() {
  local xml value
  IFS= read -r -d '' xml || true
  [[ "${xml}" == *"<$1>"* ]] || return 0
  value="${xml#*"<$1>"}"
  printf "%s" "${value%%"</$1>"*}"
}

state_store_read() {
  s3_request "${STATE_STORE}/$1"
}

state_store_write() {
  s3_request "${STATE_STORE}/$1" -X PUT -H "Content-Type: application/octet-stream" "${@:2}" --data-binary @-
}

# Whether the store holds KEY: a listing with KEY as its prefix; a listing that fails is retried, never read as absent.
state_store_has() {
  local listing
  # Encoded and ordered as SigV4 signs a query (curl before 8.1 signs it as given).
  local query="delimiter=%2F&list-type=2&prefix=${CLUSTER_NAME}%2F${1//\//%2F}"
  until listing="$(s3_request "${STATE_BUCKET_URL}/?${query}")"; do
    log "listing the state store failed, retrying"
    sleep 5
  done
  [[ "${listing}" == *"<Key>${CLUSTER_NAME}/$1</Key>"* ]]
}

readonly SECRETS_KEY='arn:aws:kms:us-east-1:123456789012:alias/kopsless/state-secrets'
readonly SIGNED_SECRET_PUT='import datetime, hashlib, hmac, json, os, sys, time, urllib.error, urllib.parse, urllib.request
url, region, key_id, mode = sys.argv[1:5]
creds = json.load(os.fdopen(3))
body = sys.stdin.buffer.read()
parts = urllib.parse.urlsplit(url)
def signed_request():
  amz_date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
  headers = {"host": parts.netloc, "x-amz-content-sha256": hashlib.sha256(body).hexdigest(), "x-amz-date": amz_date,
    "x-amz-security-token": creds["Token"], "x-amz-server-side-encryption": "aws:kms",
    "x-amz-server-side-encryption-aws-kms-key-id": key_id, "x-amz-server-side-encryption-bucket-key-enabled": "true"}
  if mode == "create-only":
    headers["if-none-match"] = "*"
  names = sorted(headers)
  canonical = "\n".join(["PUT", parts.path, "", *[n + ":" + headers[n] for n in names], "", ";".join(names), headers["x-amz-content-sha256"]])
  scope = amz_date[:8] + "/" + region + "/s3/aws4_request"
  to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
  key = ("AWS4" + creds["SecretAccessKey"]).encode()
  for part in (amz_date[:8], region, "s3", "aws4_request"):
    key = hmac.new(key, part.encode(), hashlib.sha256).digest()
  signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
  headers["authorization"] = "AWS4-HMAC-SHA256 Credential=" + creds["AccessKeyId"] + "/" + scope + ", SignedHeaders=" + ";".join(names) + ", Signature=" + signature
  del headers["host"]
  headers["content-type"] = "application/octet-stream"
  return urllib.request.Request(url, data=body, method="PUT", headers=headers)
# Throttling, 5xx and network errors are tried again (signed anew: the date is in the signature);
# a create-only write whose first try went through answers 412 later, which the caller reads back.
for attempt in range(5):
  try:
    urllib.request.urlopen(signed_request(), timeout=60)
    sys.exit(0)
  except urllib.error.HTTPError as error:
    failure = "returned error: %d" % error.code
    if error.code != 429 and error.code < 500:
      sys.exit(failure)
  except (urllib.error.URLError, OSError) as error:
    failure = "request failed: %s" % error
  time.sleep(2 ** attempt)
sys.exit(failure)'
state_store_write_secret() {
  local role
  role="$(imds iam/security-credentials/)"
  python3 -c "${SIGNED_SECRET_PUT}" "${STATE_STORE}/$1" "${AWS_REGION}" "${SECRETS_KEY}" "${2:-}" \
    3< <(imds "iam/security-credentials/${role}")
}

# Copies a quoted heredoc to stdout with builtins only: its text is data to bash, never expanded.
verbatim() {
  local text=""
  IFS= read -r -d '' text || true
  printf "%s" "${text}"
}

write_kubeadm_config() {
  install -d -m 0700 /etc/kubernetes
  {
    verbatim <<'KUBEADM'
apiVersion: kubeadm.k8s.io/v1beta4
kind: InitConfiguration
localAPIEndpoint:
  bindPort: 443
nodeRegistration:
  criSocket: unix:///run/containerd/containerd.sock
  taints:
  - key: "node-role.kubernetes.io/control-plane"
    effect: "NoSchedule"
  kubeletExtraArgs:
    - name: node-labels
      value: ""
KUBEADM
    printf '    - name: provider-id\n      value: "aws:///%s/%s"\n' "${ZONE}" "${INSTANCE_ID}"
    printf 'bootstrapTokens:\n- token: "%s"\n  ttl: "24h0m0s"\n  usages: [signing, authentication]\n  groups: ["system:bootstrappers:kubeadm:default-node-token"]\n' "${BOOTSTRAP_TOKEN}"
    verbatim <<'KUBEADM'
---
apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
clusterName: "seed.example.com"
kubernetesVersion: "v1.32.0"
controlPlaneEndpoint: "api.internal.seed.example.com:443"
networking:
  serviceSubnet: "100.64.0.0/13"
apiServer:
  certSANs: ["api.seed.example.com", "api.internal.seed.example.com"]
---
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
cgroupDriver: systemd
maxPods: 17
authentication:
  anonymous:
    enabled: false
KUBEADM
  } | tee /etc/kubernetes/kubeadm.yaml >/dev/null
}

readonly ETCD_VOLUME_GB='20'
readonly ETCD_VOLUME_TAG_FILTERS=('Filter.1.Name=tag:KubernetesCluster' 'Filter.1.Value.1=seed.example.com' 'Filter.2.Name=tag:kopsless.io/etcd' 'Filter.2.Value.1=control-plane-us-east-1a')
readonly ETCD_VOLUME_TAG_SPECIFICATIONS=('TagSpecification.1.ResourceType=volume' 'TagSpecification.1.Tag.1.Key=KubernetesCluster' 'TagSpecification.1.Tag.1.Value=seed.example.com' 'TagSpecification.1.Tag.2.Key=kubernetes.io/cluster/seed.example.com' 'TagSpecification.1.Tag.2.Value=owned' 'TagSpecification.1.Tag.3.Key=kopsless.io/owner' 'TagSpecification.1.Tag.3.Value=kopsless' 'TagSpecification.1.Tag.4.Key=kopsless.io/etcd' 'TagSpecification.1.Tag.4.Value=control-plane-us-east-1a')

attach_etcd_volume() {
  local volume disk=""
  volume="$(ec2_request DescribeVolumes "${ETCD_VOLUME_TAG_FILTERS[@]}" \
    "Filter.3.Name=availability-zone" "Filter.3.Value.1=${ZONE}" | xml_value volumeId)"
  if [ -z "${volume}" ]; then
    volume="$(ec2_request CreateVolume "ClientToken=etcd-${INSTANCE_ID}" "AvailabilityZone=${ZONE}" "Size=${ETCD_VOLUME_GB}" "VolumeType=gp3" "Encrypted=true" \
      "${ETCD_VOLUME_TAG_SPECIFICATIONS[@]}" | xml_value volumeId)"
    [ -n "${volume}" ] || { log "creating the etcd volume returned no volume ID"; exit 1; }
    until [ "$(ec2_request DescribeVolumes "VolumeId.1=${volume}" | xml_value status)" = "available" ]; do
      sleep 5
    done
  fi
  # The instance being replaced may still hold the volume; it frees up when that one terminates.
  until ec2_request AttachVolume "VolumeId=${volume}" "InstanceId=${INSTANCE_ID}" "Device=/dev/xvdf" >/dev/null 2>&1; do
    log "waiting to attach etcd volume ${volume}"
    sleep 10
  done
  # Nitro instances show EBS volumes as NVMe disks whose serial is the volume ID without its dash.
  until [ -n "${disk}" ]; do
    disk="$(lsblk -dno NAME,SERIAL | awk -v id="${volume/-/}" '$2 == id {print "/dev/" $1}')"
    if [ -z "${disk}" ] && [ -b /dev/xvdf ]; then disk=/dev/xvdf; fi
    if [ -z "${disk}" ]; then sleep 2; fi
  done
  blkid "${disk}" >/dev/null || mkfs.ext4 -q -L etcd "${disk}"
  install -d -m 0700 /var/lib/etcd
  grep -q "LABEL=etcd" /etc/fstab || echo "LABEL=etcd /var/lib/etcd ext4 defaults,nofail 0 2" | tee -a /etc/fstab >/dev/null
  mount /var/lib/etcd
}

restore_control_plane_pki() {
  install -d -m 0700 /etc/kubernetes/pki
  if state_store_has secrets/control-plane-pki.tar.gz; then
    log "restoring the cluster CA and service-account keys from the state store"
    state_store_read secrets/control-plane-pki.tar.gz | tar -xz -C /etc/kubernetes/pki
  fi
}

save_control_plane_pki() {
  tar -cz -C /etc/kubernetes/pki ca.crt ca.key sa.key sa.pub front-proxy-ca.crt front-proxy-ca.key etcd/ca.crt etcd/ca.key |
    state_store_write_secret secrets/control-plane-pki.tar.gz
}

install_bootstrap_token_sync() {
  install -d -m 0700 /etc/kopsless
  printf "STATE_STORE=%q\nAWS_REGION=%q\n" "${STATE_STORE}" "${AWS_REGION}" | tee /etc/kopsless/state-store.env >/dev/null
  # The boot script's own request functions (curl signs with the instance role), as bash prints them.
  declare -f imds instance_credentials aws_request s3_request state_store_read | tee /etc/kopsless/state-store.sh >/dev/null
  verbatim <<'TOKENSYNC' | tee /usr/local/sbin/kopsless-bootstrap-token >/dev/null
#!/bin/bash
# Registers the bootstrap token the state store holds (the launch stage renews it) with kubeadm.
set -o errexit -o nounset -o pipefail
. /etc/kopsless/state-store.env
. /etc/kopsless/state-store.sh
token="$(state_store_read secrets/bootstrap-token)"
known="$(kubeadm token list --kubeconfig /etc/kubernetes/admin.conf | awk 'NR > 1 { print $1 }')"
if ! printf "%s\n" "${known}" | grep -qxF -- "${token}"; then
  kubeadm token create "${token}" --ttl 24h0m0s --kubeconfig /etc/kubernetes/admin.conf >/dev/null
fi
TOKENSYNC
  chmod 0700 /usr/local/sbin/kopsless-bootstrap-token
  verbatim <<'TOKENUNIT' | tee /etc/systemd/system/kopsless-bootstrap-token.service >/dev/null
[Unit]
Description=kopsless: register the bootstrap token of the state store with kubeadm
[Service]
Type=oneshot
ExecStart=/usr/local/sbin/kopsless-bootstrap-token
TOKENUNIT
  verbatim <<'TOKENUNIT' | tee /etc/systemd/system/kopsless-bootstrap-token.timer >/dev/null
[Unit]
Description=kopsless: keep the bootstrap token of the state store registered
[Timer]
OnBootSec=2min
OnUnitActiveSec=2min
[Install]
WantedBy=timers.target
TOKENUNIT
  systemctl daemon-reload
  systemctl enable --now kopsless-bootstrap-token.timer
}

install_vpc_cni() {
  log 'installing the Amazon VPC CNI v1.23.1'
  curl -fsSL 'https://raw.githubusercontent.com/aws/amazon-vpc-cni-k8s/b52188387f2e2f10bf289ace929d6a63b176a4fa/config/master/aws-k8s-cni.yaml' -o /tmp/aws-k8s-cni.yaml
  echo 'd5f38ce2f1e00960a6f5e0dc2f07d8a1c61d88c21778bcdc5a041ced0345ba0c  /tmp/aws-k8s-cni.yaml' | sha256sum -c --quiet -
  kubectl --kubeconfig /etc/kubernetes/admin.conf apply -f /tmp/aws-k8s-cni.yaml
  kubectl --kubeconfig /etc/kubernetes/admin.conf -n kube-system set env daemonset/aws-node -- 'ADDITIONAL_ENI_TAGS={"KubernetesCluster":"seed.example.com","kubernetes.io/cluster/seed.example.com":"owned","kopsless.io/owner":"kopsless"}'
}

main() {
  log "bootstrapping Kubernetes ${KUBERNETES_VERSION} with maxPods ${MAX_PODS}"
  install_packages
  require_curl_sigv4
  configure_kernel
  configure_containerd
  INSTANCE_ID="$(imds instance-id)"
  ZONE="$(imds placement/availability-zone)"
  BOOTSTRAP_TOKEN="$(state_store_read secrets/bootstrap-token)"
  attach_etcd_volume
  restore_control_plane_pki
  write_kubeadm_config
  local preflight=()
  # A replacement control plane finds the cluster in its etcd volume: init on top of it.
  if [ -n "$(ls -A /var/lib/etcd)" ]; then preflight=(--ignore-preflight-errors=DirAvailable--var-lib-etcd); fi
  kubeadm init --config /etc/kubernetes/kubeadm.yaml "${preflight[@]}"
  save_control_plane_pki
  install_bootstrap_token_sync
  # Nodes verify the API server against this hash before trusting the bootstrap token.
  openssl x509 -pubkey -in /etc/kubernetes/pki/ca.crt | openssl pkey -pubin -outform der | openssl dgst -sha256 -hex | sed "s/^.* /sha256:/" |
    state_store_write pki/ca-cert-hash
  # The lifecycle stages reach the API at api.internal.<cluster>, from inside the VPC, with this admin kubeconfig.
  awk -- 'BEGIN { server = ARGV[1]; ARGV[1] = "" } { if (match($0, /^ *server: /)) $0 = substr($0, 1, RLENGTH) server; print }' "${KUBECONFIG_SERVER}" /etc/kubernetes/admin.conf |
    state_store_write_secret secrets/kubeconfig
  install_vpc_cni
  log "done"
}

main "$@"
