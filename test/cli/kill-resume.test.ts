import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { DescribeInstancesCommand, EC2Client, type Instance } from '@aws-sdk/client-ec2';
import { IAMClient } from '@aws-sdk/client-iam';
import { Route53Client } from '@aws-sdk/client-route-53';
import { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cloudFormationStackApi } from '../../src/aws/cloudformation.js';
import { inventoryApi } from '../../src/aws/inventory.js';
import { route53Api } from '../../src/aws/route53.js';
import { stopMoto } from '../../src/local/moto/moto.js';
import { checkManifest } from '../../src/manifest/check.js';
import { manifestFromFlags } from '../../src/manifest/create-cluster.js';
import { toManifestYaml } from '../../src/manifest/yaml.js';
import { discover } from '../../src/stages/delete-cluster.js';
import { ClusterStore } from '../../src/state/cluster-store.js';
import { s3ObjectStore } from '../../src/state/object-store.js';
import { ROOT } from '../helpers.js';
import { TEST_ZONE } from '../support/moto.js';
import { type CliResult, createZoneIn, kopsless } from './run.js';

// kill -9 of a local command at several states of create, roll and delete; the next command
// for the cluster takes its lock over at once and finishes the work. The runner is a real child
// process running the CLI; the local backend (moto, the simulated Kubernetes API) is detached and
// outlives it, as it does for a user.
const home = mkdtempSync(join(tmpdir(), 'kopsless-kill-'));
// A lease long enough that finishing before it expires proves the takeover did not wait it out.
const LEASE_SECONDS = 300;
// About 60 s for the whole file on an idle machine (12 CLI starts); a shared, loaded one may need
// several times that, hence the wide per-test limit.
const LOADED = 240_000;
const env = { KOPSLESS_HOME: home, LOCK_LEASE_SECONDS: String(LEASE_SECONDS) };
const CLUSTER = 'resume.example.com';
const manifestFile = join(home, 'cluster.yaml');
const manifest = manifestFromFlags({
  name: CLUSTER,
  zones: ['us-east-1a', 'us-east-1b'],
  networking: 'amazonvpc',
  nodeCount: 2,
  nodeSize: 't3.medium',
  controlPlaneSize: 't3.medium',
  networkCidr: '172.31.0.0/16',
});
type Backend = {
  pid: number;
  kubePid: number;
  endpoint: string;
  region: string;
  stateBucket: string;
};
const backend = () =>
  JSON.parse(readFileSync(join(home, 'local', 'backend.json'), 'utf8')) as Backend;
// Each CLI start costs seconds on a busy machine: what is not under test is done in-process.
let ec2: EC2Client;
let store: ClusterStore;
let leftovers: () => Promise<string[]>;

interface Killed {
  stdout: string;
  /** The line that told us the state was reached, and the runner's PID that was killed. */
  at: string;
  pid: number;
}

/**
 * Runs the CLI and kills it (SIGKILL, by PID) as soon as a stdout line matches `when`: a progress
 * line `✓ State` says that the state finished and the next one has started. Resolves once the
 * process has ended and been reaped.
 */
function killWhen(args: string[], when: RegExp): Promise<Killed> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--no-warnings', join(ROOT, 'bin', 'kopsless.mjs'), ...args],
      {
        env: { ...process.env, AWS_ENDPOINT_URL: '', ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    let at = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      const line = stdout.split('\n').find((l) => when.test(l));
      if (line && !at) {
        at = line;
        process.kill(child.pid!, 'SIGKILL');
      }
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (signal !== 'SIGKILL')
        reject(new Error(`the command ended (code ${code}) before ${when}:\n${stdout}\n${stderr}`));
      else resolve({ stdout, at, pid: child.pid! });
    });
  });
}

/** Every instance of the cluster moto knows, terminated ones included. */
async function instances(): Promise<Instance[]> {
  const out = await ec2.send(
    new DescribeInstancesCommand({
      Filters: [{ Name: 'tag:KubernetesCluster', Values: [CLUSTER] }],
    }),
  );
  return (out.Reservations ?? []).flatMap((r) => r.Instances ?? []);
}
const ids = (list: Instance[]) => list.map((i) => i.InstanceId!).sort();
const live = async () => (await instances()).filter((i) => i.State?.Name !== 'terminated');
const terminated = async () => (await instances()).filter((i) => i.State?.Name === 'terminated');

/** The lock as stored now: its expiry bounds how long the next command may take. */
async function lockExpiry(): Promise<number> {
  const lease = await store.readLock(CLUSTER);
  expect(lease?.holder, 'the killed command left its lock, with its local runner').toBeDefined();
  return Date.parse(lease!.expiresAt);
}

/** Runs the next command and returns it with the time it finished. */
async function resume(args: string[]): Promise<CliResult & { finishedAt: number }> {
  const result = await kopsless(args, env);
  return { ...result, finishedAt: Date.now() };
}

beforeAll(async () => {
  const up = await kopsless(['local', 'up'], env);
  expect(up.code, up.stderr).toBe(0);
  const { endpoint, region, stateBucket } = backend();
  await createZoneIn(endpoint, region, TEST_ZONE);
  const config = {
    endpoint,
    region,
    credentials: { accessKeyId: 'kopsless-local', secretAccessKey: 'kopsless-local' },
  };
  ec2 = new EC2Client(config);
  store = new ClusterStore(
    s3ObjectStore(new S3Client({ ...config, forcePathStyle: true }), stateBucket),
  );
  const inventory = inventoryApi({
    ec2,
    autoscaling: new AutoScalingClient(config),
    iam: new IAMClient(config),
    route53: new Route53Client(config),
  });
  const stacks = cloudFormationStackApi(new CloudFormationClient(config));
  leftovers = async () =>
    (
      await discover(CLUSTER, {
        store,
        stacks,
        dns: route53Api(new Route53Client(config)),
        inventory,
      })
    ).map((r) => `${r.type} ${r.id}`);
  writeFileSync(
    manifestFile,
    [manifest.cluster, ...manifest.instanceGroups].map(toManifestYaml).join('---\n'),
  );
}, LOADED);

afterAll(() => {
  const { pid, kubePid } = backend();
  stopMoto(kubePid);
  stopMoto(pid);
  rmSync(home, { recursive: true, force: true });
});

/** Changes the node groups' machine type in the state store, as `kopsless set` does. */
async function setNodeMachineType(machineType: string): Promise<void> {
  const current = await store.readManifest(CLUSTER);
  for (const ig of current.instanceGroups)
    if (ig.spec.role === 'Node') ig.spec.machineType = machineType;
  const check = checkManifest(
    [current.cluster, ...current.instanceGroups].map(toManifestYaml).join('---\n'),
  );
  expect(check.errors).toEqual([]);
  await store.writeSpecs(check.manifest!, check.completed!);
}

// The tests share one cluster and run in order: create, roll, delete.
describe('a killed local command is taken over by the next one', () => {
  const create = ['create', '-f', manifestFile, '--yes'];
  let original: string[] = [];

  it(
    'finishes a create killed twice (after AcquireLock, after EnsureInstanceGroups), launching each instance once',
    async () => {
      const first = await killWhen(create, /✓ AcquireLock/);
      const second = await killWhen(create, /✓ EnsureInstanceGroups/);
      const expiry = await lockExpiry();

      const result = await resume(create);

      expect(result.code, result.stderr).toBe(0);
      expect(second.stdout).toContain(`its local runner (pid ${first.pid}) is gone`);
      expect(result.stdout).toMatch(
        new RegExp(
          `taking over the lock of execution arn:aws:states:\\S+:execution:kopsless-create-cluster:\\S+: its local runner \\(pid ${second.pid}\\) is gone`,
        ),
      );
      expect(result.stdout).toContain(`Cluster "${CLUSTER}" is ready`);
      expect(result.finishedAt).toBeLessThan(expiry);
      // One control plane and two nodes: three instances ever launched, none terminated.
      original = ids(await instances());
      expect(original).toHaveLength(3);
      expect(await terminated()).toHaveLength(0);
    },
    LOADED,
  );

  it(
    'finishes an update killed after UpdateInstanceGroups, then a roll killed after a surge and again after a terminate, replacing each out-of-date instance once',
    async () => {
      await setNodeMachineType('m5.large');
      // The update that the roll needs is itself killed once it has applied the instance groups.
      const update = ['update', 'cluster', CLUSTER, '--yes'];
      await killWhen(update, /✓ UpdateInstanceGroups/);
      const updated = await resume(update);
      expect(updated.code, updated.stderr).toBe(0);
      expect(updated.stdout).toContain('taking over the lock of execution');
      const outdated = ids(
        (await live()).filter(
          (i) =>
            i.InstanceType === 't3.medium' &&
            !i.Tags?.some(
              (t) => t.Key === 'kops.k8s.io/instancegroup' && t.Value?.startsWith('control-plane'),
            ),
        ),
      );
      expect(outdated).toHaveLength(2);
      const roll = ['rolling-update', 'cluster', CLUSTER, '--yes'];
      await killWhen(roll, /✓ (?:rolling-update-group [\w.-]+#\d+ )?Surge\b/);
      await killWhen(roll, /✓ (?:rolling-update-group [\w.-]+#\d+ )?Terminate\b/);
      const expiry = await lockExpiry();

      const result = await resume(roll);

      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toContain('taking over the lock of execution');
      expect(result.stdout).toContain('Rolling update completed');
      expect(result.finishedAt).toBeLessThan(expiry);
      // The plan needed two replacements: exactly the two old nodes went, two new ones came, and
      // no replacement was itself replaced.
      expect(ids(await terminated())).toEqual(outdated);
      expect(await instances()).toHaveLength(original.length + outdated.length);
      expect(
        (await live()).filter((i) => !original.includes(i.InstanceId!)).map((i) => i.InstanceType),
      ).toEqual(['m5.large', 'm5.large']);
    },
    LOADED,
  );

  it(
    'finishes a delete killed after DeleteInstanceGroups, leaving nothing',
    async () => {
      const del = ['delete', 'cluster', CLUSTER, '--yes'];
      await killWhen(del, /✓ DeleteInstanceGroups/);
      const expiry = await lockExpiry();
      expect(await leftovers()).not.toEqual([]);

      const result = await resume(del);

      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toContain('taking over the lock of execution');
      expect(result.stdout).toContain(`Deleted cluster: "${CLUSTER}"`);
      expect(result.finishedAt).toBeLessThan(expiry);
      expect(await live()).toHaveLength(0);
      expect(await leftovers()).toEqual([]);
      expect(await store.exists(CLUSTER)).toBe(false);
      expect(await store.readLock(CLUSTER)).toBeUndefined();
    },
    LOADED,
  );

  // The create stops before VerifyDns: the records are the stack's placeholders, which delete
  // removes with the values they hold.
  it(
    'lets delete take over the lock of a killed create of the cluster and delete what it made',
    async () => {
      await killWhen(create, /✓ EnsureInstanceGroups/);
      const launched = await instances();
      expect(launched.length).toBeGreaterThan(0);

      const result = await resume(['delete', 'cluster', CLUSTER, '--yes']);

      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toMatch(
        /taking over the lock of execution \S+:kopsless-create-cluster:\S+: its local runner \(pid \d+\) is gone/,
      );
      expect(await live()).toHaveLength(0);
      expect(await leftovers()).toEqual([]);
      expect(await store.readLock(CLUSTER)).toBeUndefined();
    },
    LOADED,
  );
});
