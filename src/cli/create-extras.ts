import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  DescribeKeyPairsCommand,
  EC2Client,
  ImportKeyPairCommand,
  type Tag,
} from '@aws-sdk/client-ec2';
import { clientConfig } from '../aws/clients.js';
import type { ClusterManifest } from '../manifest/types.js';
import { isControlPlaneRole } from '../manifest/types.js';
import { clusterTags } from '../planning/names.js';
import type { CliContext } from './context.js';
import { UsageError } from './usage-error.js';

/** kOps `create cluster` flags that set fields of the manifest the other flags make. */
export interface CreateClusterExtras {
  /** `--node-volume-size`: GiB of every node group's root volume. */
  nodeVolumeSize?: number;
  /** `--control-plane-volume-size` / `--master-volume-size`. */
  controlPlaneVolumeSize?: number;
  /** `--ssh-public-key FILE`: imported as an EC2 key pair that the instances are launched with. */
  sshPublicKey?: string;
}

/** An OpenSSH public key line: type, base64 key, optional comment. */
const PUBLIC_KEY =
  /^(ssh-rsa|ssh-ed25519|ecdsa-sha2-nistp256|ecdsa-sha2-nistp384|ecdsa-sha2-nistp521) ([A-Za-z0-9+/]+={0,2})(\s.*)?$/;

/** The key read from `--ssh-public-key`, checked, and the EC2 key pair name kOps gives it. */
export function readSshPublicKey(
  file: string,
  cluster: string,
): { material: string; keyName: string } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8').trim();
  } catch (error) {
    throw new UsageError(
      `--ssh-public-key ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
  const match = PUBLIC_KEY.exec(text);
  if (!match || text.includes('\n'))
    throw new UsageError(
      `--ssh-public-key ${file}: not an OpenSSH public key (one line: ssh-ed25519 AAAA... comment)`,
    );
  // kOps names the key pair after the cluster and the key's MD5 fingerprint.
  const fingerprint = createHash('md5')
    .update(Buffer.from(match[2]!, 'base64'))
    .digest('hex')
    .replace(/(..)(?!$)/g, '$1:');
  return { material: text, keyName: `kubernetes.${cluster}-${fingerprint}` };
}

function volumeSize(flag: string, value: number | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isInteger(value) || value < 1 || value > 65536)
    throw new UsageError(`${flag} takes a size in GiB (1 to 65536), not "${value}"`);
  return value;
}

/** The manifest with the volume sizes and SSH key name the flags ask for. */
export function withCreateExtras(
  manifest: ClusterManifest,
  extras: CreateClusterExtras,
): ClusterManifest {
  const nodes = volumeSize('--node-volume-size', extras.nodeVolumeSize);
  const controlPlane = volumeSize('--control-plane-volume-size', extras.controlPlaneVolumeSize);
  const cluster = manifest.cluster.metadata.name;
  const sshKeyName = extras.sshPublicKey
    ? readSshPublicKey(extras.sshPublicKey, cluster).keyName
    : undefined;
  return {
    cluster: sshKeyName
      ? { ...manifest.cluster, spec: { ...manifest.cluster.spec, sshKeyName } }
      : manifest.cluster,
    instanceGroups: manifest.instanceGroups.map((ig) => {
      const size = isControlPlaneRole(ig.spec.role)
        ? controlPlane
        : ig.spec.role === 'Node'
          ? nodes
          : undefined;
      return size === undefined ? ig : { ...ig, spec: { ...ig.spec, rootVolumeSize: size } };
    }),
  };
}

/**
 * Imports the `--ssh-public-key` as the EC2 key pair the manifest names, tagged for the cluster;
 * a key pair of that name is already this key (the name holds its fingerprint).
 */
export async function importSshKey(ctx: CliContext, cluster: string, file: string): Promise<void> {
  const { material, keyName } = readSshPublicKey(file, cluster);
  const ec2 = new EC2Client(clientConfig(ctx.aws));
  const found = await ec2
    .send(new DescribeKeyPairsCommand({ Filters: [{ Name: 'key-name', Values: [keyName] }] }))
    .then((r) => r.KeyPairs ?? []);
  if (found.length > 0) return;
  const tags: Tag[] = clusterTags(cluster);
  await ec2.send(
    new ImportKeyPairCommand({
      KeyName: keyName,
      PublicKeyMaterial: Buffer.from(material),
      TagSpecifications: [{ ResourceType: 'key-pair', Tags: tags }],
    }),
  );
}
