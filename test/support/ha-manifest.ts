import { readFixture } from '../helpers.js';

/** The zones of a highly available test cluster: one control-plane group in each. */
export const ZONES = ['us-east-1a', 'us-east-1b', 'us-east-1c'];
export const CONTROL_PLANES = ZONES.map((z) => `control-plane-${z}`);

/** The seed cluster with a third subnet and one control-plane group (one etcd member) per zone. */
export function haManifest(cluster: string): string {
  const seed = readFixture('seed.yaml').replaceAll('seed.example.com', cluster);
  const [head, ...groups] = seed.split('\n---\n');
  const members = ZONES.map(
    (z) =>
      `    - encryptedVolume: true\n      instanceGroup: control-plane-${z}\n      name: ${z.at(-1)}`,
  ).join('\n');
  const clusterDoc = head!
    .replaceAll(
      '    etcdMembers:\n    - encryptedVolume: true\n      instanceGroup: control-plane-us-east-1a\n      name: a\n',
      `    etcdMembers:\n${members}\n`,
    )
    .replace(
      '  topology:',
      '  - cidr: 172.30.128.0/18\n    name: us-east-1c\n    type: Public\n    zone: us-east-1c\n  topology:',
    );
  const controlPlane = groups.find((g) => g.includes('name: control-plane-us-east-1a'))!;
  const others = groups.filter((g) => g !== controlPlane);
  const controlPlanes = ZONES.map((z) => controlPlane.replaceAll('us-east-1a', z));
  return [clusterDoc, ...controlPlanes, ...others].join('\n---\n');
}
