/**
 * The Amazon VPC CNI release kopsless installs and reckons with: the version the control plane's
 * boot script applies, the max-pods calculator and the ENI watcher assume, and the local
 * simulation runs. One place, so a bump moves all of them together.
 */

/** The VPC CNI version kopsless installs and assumes when none is given. */
export const VPC_CNI_VERSION = '1.23.1';

/** The CNI's own manifest for `version` (what the boot script applies with kubectl). */
export function vpcCniManifestUrl(version: string = VPC_CNI_VERSION): string {
  return `https://raw.githubusercontent.com/aws/amazon-vpc-cni-k8s/v${version}/config/master/aws-k8s-cni.yaml`;
}

/** The aws-node image that manifest runs (the simulated cluster's DaemonSet shows it). */
export function vpcCniImage(version: string = VPC_CNI_VERSION): string {
  return `602401143452.dkr.ecr.us-west-2.amazonaws.com/amazon-k8s-cni:v${version}`;
}
