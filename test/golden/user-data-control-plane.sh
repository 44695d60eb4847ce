#!/bin/bash
# kopsless bootstrap: cluster "seed.example.com", instance group "control-plane-us-east-1a" (role "Master").
# Rendered by kopsless from the cluster spec; a change here is a change of the group's spec hash.
# kopsless-bootstrap-settings: {"KubernetesVersion":"1.32.0","maxPods":"17","VPC CNI":"1.23.1"}
set -o errexit -o nounset -o pipefail

readonly CLUSTER_NAME='seed.example.com'
readonly INSTANCE_GROUP='control-plane-us-east-1a'
readonly AWS_REGION='us-east-1'

log() { printf 'kopsless-bootstrap[%s.%s]: %s\n' "${INSTANCE_GROUP}" "${CLUSTER_NAME}" "$*" >&2; }

readonly STATE_STORE='s3://state-bucket/seed.example.com'
readonly KUBERNETES_VERSION='1.32.0'
readonly KUBERNETES_MINOR='v1.32'
readonly MAX_PODS='17'
readonly KUBECONFIG_SERVER='"https://api.internal.seed.example.com:443"'

install_packages() {
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q apt-transport-https ca-certificates curl gpg containerd unzip
  if ! command -v aws >/dev/null; then
    curl -fsSL "https://awscli.amazonaws.com/awscli-exe-linux-$(uname -m).zip" -o /tmp/awscliv2.zip
    unzip -q /tmp/awscliv2.zip -d /tmp && sh /tmp/aws/install
  fi
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
  token="$(curl -fsS -X PUT http://169.254.169.254/latest/api/token -H "X-aws-ec2-metadata-token-ttl-seconds: 300")"
  curl -fsS -H "X-aws-ec2-metadata-token: ${token}" "http://169.254.169.254/latest/meta-data/$1"
}

state_store_read() {
  aws --region="${AWS_REGION}" s3 cp "${STATE_STORE}/$1" -
}

readonly SECRETS_KEY='arn:aws:kms:us-east-1:123456789012:alias/kopsless/state-secrets'
state_store_write_secret() {
  aws --region="${AWS_REGION}" s3 cp - "${STATE_STORE}/$1" --sse aws:kms --sse-kms-key-id "${SECRETS_KEY}"
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
readonly ETCD_VOLUME_TAG_FILTERS='{"Name":"tag:KubernetesCluster","Values":["seed.example.com"]},{"Name":"tag:kopsless.io/etcd","Values":["control-plane-us-east-1a"]}'
readonly ETCD_VOLUME_TAG_SPECIFICATIONS='[{"ResourceType":"volume","Tags":[{"Key":"KubernetesCluster","Value":"seed.example.com"},{"Key":"kubernetes.io/cluster/seed.example.com","Value":"owned"},{"Key":"kopsless.io/etcd","Value":"control-plane-us-east-1a"}]}]'

attach_etcd_volume() {
  local volume disk="" filters
  printf -v filters '[%s,{"Name":"availability-zone","Values":["%s"]}]' "${ETCD_VOLUME_TAG_FILTERS}" "${ZONE}"
  volume="$(aws --region="${AWS_REGION}" ec2 describe-volumes --filters "${filters}" \
    --query 'Volumes[0].VolumeId' --output text)"
  if [ -z "${volume}" ] || [ "${volume}" = "None" ]; then
    volume="$(aws --region="${AWS_REGION}" ec2 create-volume --availability-zone "${ZONE}" --size "${ETCD_VOLUME_GB}" --volume-type gp3 --encrypted \
      --tag-specifications "${ETCD_VOLUME_TAG_SPECIFICATIONS}" --query VolumeId --output text)"
    aws --region="${AWS_REGION}" ec2 wait volume-available --volume-ids "${volume}"
  fi
  # The instance being replaced may still hold the volume; it frees up when that one terminates.
  until aws --region="${AWS_REGION}" ec2 attach-volume --volume-id "${volume}" --instance-id "${INSTANCE_ID}" --device /dev/xvdf >/dev/null 2>&1; do
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
  if aws --region="${AWS_REGION}" s3 ls "${STATE_STORE}/secrets/control-plane-pki.tar.gz" >/dev/null 2>&1; then
    log "restoring the cluster CA and service-account keys from the state store"
    aws --region="${AWS_REGION}" s3 cp "${STATE_STORE}/secrets/control-plane-pki.tar.gz" - | tar -xz -C /etc/kubernetes/pki
  fi
}

save_control_plane_pki() {
  tar -cz -C /etc/kubernetes/pki ca.crt ca.key sa.key sa.pub front-proxy-ca.crt front-proxy-ca.key etcd/ca.crt etcd/ca.key |
    state_store_write_secret secrets/control-plane-pki.tar.gz
}

install_bootstrap_token_sync() {
  install -d -m 0700 /etc/kopsless
  printf "STATE_STORE=%q\nAWS_REGION=%q\n" "${STATE_STORE}" "${AWS_REGION}" | tee /etc/kopsless/state-store.env >/dev/null
  verbatim <<'TOKENSYNC' | tee /usr/local/sbin/kopsless-bootstrap-token >/dev/null
#!/bin/bash
# Registers the bootstrap token the state store holds (the launch stage renews it) with kubeadm.
set -o errexit -o nounset -o pipefail
. /etc/kopsless/state-store.env
token="$(aws --region="${AWS_REGION}" s3 cp "${STATE_STORE}/secrets/bootstrap-token" -)"
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
    aws --region="${AWS_REGION}" s3 cp - "${STATE_STORE}/pki/ca-cert-hash"
  # The lifecycle stages reach the API at api.internal.<cluster>, from inside the VPC, with this admin kubeconfig.
  awk -- 'BEGIN { server = ARGV[1]; ARGV[1] = "" } { if (match($0, /^ *server: /)) $0 = substr($0, 1, RLENGTH) server; print }' "${KUBECONFIG_SERVER}" /etc/kubernetes/admin.conf |
    state_store_write_secret secrets/kubeconfig
  install_vpc_cni
  log "done"
}

main "$@"
