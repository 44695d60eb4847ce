#!/bin/bash
# kopsless bootstrap: cluster "seed.example.com", instance group "nodes-us-east-1a" (role "Node").
# Rendered by kopsless from the cluster spec; a change here is a change of the group's spec hash.
# kopsless-bootstrap-settings: {"KubernetesVersion":"1.32.0","maxPods":"17"}
set -o errexit -o nounset -o pipefail

readonly CLUSTER_NAME='seed.example.com'
readonly INSTANCE_GROUP='nodes-us-east-1a'
readonly AWS_REGION='us-east-1'

log() { printf 'kopsless-bootstrap[%s.%s]: %s\n' "${INSTANCE_GROUP}" "${CLUSTER_NAME}" "$*" >&2; }

readonly STATE_STORE='s3://state-bucket/seed.example.com'
readonly KUBERNETES_VERSION='1.32.0'
readonly KUBERNETES_MINOR='v1.32'
readonly MAX_PODS='17'

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
kind: JoinConfiguration
nodeRegistration:
  criSocket: unix:///run/containerd/containerd.sock
  taints: []
  kubeletExtraArgs:
    - name: node-labels
      value: ""
KUBEADM
    printf '    - name: provider-id\n      value: "aws:///%s/%s"\n' "${ZONE}" "${INSTANCE_ID}"
    printf 'discovery:\n  bootstrapToken:\n    token: "%s"\n    caCertHashes: ["%s"]\n' "${BOOTSTRAP_TOKEN}" "${CA_CERT_HASH}"
    verbatim <<'KUBEADM'
    apiServerEndpoint: "api.internal.seed.example.com:443"
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

main() {
  log "bootstrapping Kubernetes ${KUBERNETES_VERSION} with maxPods ${MAX_PODS}"
  install_packages
  configure_kernel
  configure_containerd
  INSTANCE_ID="$(imds instance-id)"
  ZONE="$(imds placement/availability-zone)"
  BOOTSTRAP_TOKEN="$(state_store_read secrets/bootstrap-token)"
  until CA_CERT_HASH="$(state_store_read pki/ca-cert-hash)"; do
    log "waiting for the control plane to publish its CA hash"
    sleep 10
  done
  write_kubeadm_config
  kubeadm join --config /etc/kubernetes/kubeadm.yaml
  log "done"
}

main "$@"
