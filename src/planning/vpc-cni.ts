/**
 * The Amazon VPC CNI release kopsless installs and reckons with: the version the control plane's
 * boot script applies, the max-pods calculator and the ENI watcher assume, and the local
 * simulation runs. One place, so a bump moves all of them together.
 */

/** The VPC CNI version kopsless installs and assumes when none is given. */
export const VPC_CNI_VERSION = '1.23.1';

/**
 * The CNI's own manifest of each release kopsless installs, pinned: by the release's commit (a
 * tag can be moved, a commit cannot) and by the SHA-256 of the file at that commit, which the
 * boot script checks before it applies anything.
 */
export const VPC_CNI_MANIFESTS: Readonly<Record<string, { commit: string; sha256: string }>> = {
  '1.23.1': {
    // "Prepare v1.23.1 release (#3838)": the manifest's images are v1.23.1.
    commit: 'b52188387f2e2f10bf289ace929d6a63b176a4fa',
    sha256: 'd5f38ce2f1e00960a6f5e0dc2f07d8a1c61d88c21778bcdc5a041ced0345ba0c',
  },
};

/** A release kopsless has no pinned manifest for. */
export class UnpinnedVpcCniVersionError extends Error {
  override readonly name = 'UnpinnedVpcCniVersionError';
}

/** Where the boot script downloads the manifest of `version` from, and the SHA-256 it must have. */
export function vpcCniManifest(version: string = VPC_CNI_VERSION): { url: string; sha256: string } {
  const pinned = Object.hasOwn(VPC_CNI_MANIFESTS, version) ? VPC_CNI_MANIFESTS[version] : undefined;
  if (!pinned)
    throw new UnpinnedVpcCniVersionError(
      `VPC CNI ${JSON.stringify(version)} has no pinned manifest (pinned: ${Object.keys(VPC_CNI_MANIFESTS).join(', ')})`,
    );
  return {
    url: `https://raw.githubusercontent.com/aws/amazon-vpc-cni-k8s/${pinned.commit}/config/master/aws-k8s-cni.yaml`,
    sha256: pinned.sha256,
  };
}

/** The aws-node image that manifest runs (the simulated cluster's DaemonSet shows it). */
export function vpcCniImage(version: string = VPC_CNI_VERSION): string {
  return `602401143452.dkr.ecr.us-west-2.amazonaws.com/amazon-k8s-cni:v${version}`;
}
