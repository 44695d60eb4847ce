import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { checkManifest } from '../../src/manifest/check.js';
import type { CompletedInstanceGroup } from '../../src/manifest/completed.js';
import type { InstanceGroupRole } from '../../src/manifest/types.js';
import { stateBucketUrl } from '../../src/planning/aws-requests.js';
import { renderUserData, type UserDataInput } from '../../src/planning/user-data.js';
import { vpcCniManifest } from '../../src/planning/vpc-cni.js';
import { readFixture } from '../helpers.js';
import { type RecordedCall, runSandboxed, type SandboxRun } from '../support/script-sandbox.js';

/**
 * Nothing from the manifest is code: the boot script is rendered with hostile text in every string
 * that reaches it (validation bypassed: the renderer is called directly), then run under bash in a
 * sandbox where every external command is a recorder (see script-sandbox.ts). No payload may run,
 * and every value must arrive, unchanged, where it is data.
 */

/** Every external command the scripts call; a missing one fails the run (exit 127). */
const SCRIPT_COMMANDS = [
  'apt-get',
  'apt-mark',
  'awk',
  'blkid',
  'chmod',
  'containerd',
  'curl',
  'gpg',
  'grep',
  'install',
  'kubeadm',
  'kubectl',
  'ls',
  'lsblk',
  'mkfs.ext4',
  'modprobe',
  'mount',
  'openssl',
  'python3',
  'sed',
  'sha256sum',
  'sh',
  'sleep',
  'sysctl',
  'systemctl',
  'tar',
  'tee',
  'uname',
];
/** Never called by the scripts: stubbed so that an injected call is recorded rather than failing. */
const DECOYS = ['touch', 'id', 'rm', 'cat'];
const COMMANDS = [...SCRIPT_COMMANDS, ...DECOYS];

/**
 * What every curl call prints in the sandbox: its version line (the script checks that curl signs
 * AWS requests), and the parts of EC2's answers the script reads (an etcd volume, available).
 */
const CURL_ANSWER = `printf '%s\\n' 'curl 8.5.0 (x86_64-pc-linux-gnu) <volumeId>vol-0123</volumeId><status>available</status>'`;
const runScript = (script: string) =>
  runSandboxed(script, COMMANDS, { answers: { curl: CURL_ANSWER } });

/** Each payload gets a marker naming the field, so a failure says which field leaked. */
const PAYLOADS: Array<[string, (marker: string) => string]> = [
  ['command substitution', (m) => `x$(touch ${m})`],
  ['backticks', (m) => `x\`touch ${m}\``],
  ['single quote', (m) => `x'; touch ${m}; echo '`],
  ['double quote', (m) => `x"; touch ${m}; echo "`],
  ['newline', (m) => `x\ntouch ${m}\n`],
  ['heredoc terminator KUBEADM', (m) => `x\nKUBEADM\ntouch ${m}\nKUBEADM\n`],
  ['heredoc terminator EOF', (m) => `x\nEOF\ntouch ${m}\nEOF`],
  ['semicolon', (m) => `x;touch ${m};`],
  ['pipe', (m) => `x|touch ${m}|`],
  ['option', (m) => `--option=${m}`],
  ['builtin redirection', (m) => `x$(echo pwned >${m})>${m}-2`],
  ['expansions and escapes', (m) => `\${PATH}\${IFS}$((1+1))\\n%s%n&\\1#{}*?~ ${m}`],
  ['JSON and shorthand syntax', (m) => `x"]},{"Name":"${m}","Values":["*"]}],Values=*,{Key=${m}}`],
];

const seed = checkManifest(readFixture('seed.yaml')).completed!;
const groupNamed = (name: string): CompletedInstanceGroup =>
  structuredClone(seed.instanceGroups.find((ig) => ig.metadata.name === name)!);

type Role = 'control plane' | 'node' | 'bastion';

/** The seed cluster with `payload` in every string field the role's user-data reads. */
function hostileInput(role: Role, payload: (marker: string) => string): UserDataInput {
  const p = (field: string) => payload(`pwned-${field}`);
  const cluster = structuredClone(seed.cluster);
  cluster.metadata.name = p('clusterName');
  cluster.spec.kubernetesVersion = p('kubernetesVersion');
  cluster.spec.masterPublicName = p('masterPublicName');
  cluster.spec.masterInternalName = p('masterInternalName');
  cluster.spec.serviceClusterIPRange = p('serviceClusterIPRange');
  cluster.spec.podCIDR = p('podCIDR');
  cluster.spec.networking = {
    amazonvpc: {
      env: [
        { name: p('envName'), value: '1' },
        { name: 'WARM_IP_TARGET', value: p('envValue') },
      ],
    },
  };
  const ig = groupNamed(role === 'control plane' ? 'control-plane-us-east-1a' : 'nodes-us-east-1a');
  ig.metadata.name = p('instanceGroupName');
  ig.spec.nodeLabels = { [p('labelKey')]: 'v', team: p('labelValue') };
  ig.spec.taints = [
    `${p('taintKey')}=v:NoSchedule`,
    `k=${p('taintValue')}:NoSchedule`,
    `k2=v:${p('taintEffect')}`,
    p('taint'),
  ];
  // Any role other than the control plane's and Bastion boots a node: the role itself is a payload.
  if (role === 'node') ig.spec.role = p('role') as InstanceGroupRole;
  if (role === 'bastion') ig.spec.role = 'Bastion';
  return {
    cluster,
    instanceGroup: ig,
    maxPods: p('maxPods') as unknown as number,
    stateBucket: p('stateBucket'),
    region: p('region'),
    // The VPC CNI version is a key into the pinned manifests, not text: an unknown one is refused
    // before any script is rendered (vpc-cni-pin.test.ts).
  };
}

/** Options the scripts write with their value attached (`--region=<value>`): the value cannot be an option. */
const ATTACHED_VALUE = /^--region=/;

/** Arguments holding a payload that a program could read as an option (no `--` before them). */
function optionLikePayloads(calls: RecordedCall[]): string[] {
  return calls.flatMap((call) => {
    const endOfOptions = call.argv.indexOf('--');
    return call.argv
      .map((arg, i) => ({ arg, i }))
      .filter(
        ({ arg, i }) =>
          i > 0 &&
          arg.includes('pwned') &&
          arg.startsWith('-') &&
          !ATTACHED_VALUE.test(arg) &&
          (endOfOptions < 0 || i < endOfOptions),
      )
      .map(({ arg }) => `${call.argv[0]}: ${arg}`);
  });
}

function expectNothingRan(run: SandboxRun): void {
  expect(run.blocked).toEqual([]);
  expect(run.files.filter((f) => f.includes('pwned'))).toEqual([]);
  expect(run.calls.filter((c) => !SCRIPT_COMMANDS.includes(c.argv[0]!))).toEqual([]);
  expect(optionLikePayloads(run.calls)).toEqual([]);
  expect(run.stderr).not.toMatch(/command not found|syntax error|unbound variable/);
  expect(run.status).toBe(0);
}

function callOf(run: SandboxRun, match: (argv: string[]) => boolean): RecordedCall {
  const call = run.calls.find((c) => match(c.argv));
  if (!call)
    throw new Error(`no such call among:\n${run.calls.map((c) => c.argv.join(' ')).join('\n')}`);
  return call;
}

function kubeadmDocuments(run: SandboxRun): Map<string, any> {
  const written = callOf(
    run,
    (argv) => argv[0] === 'tee' && argv[1] === '/etc/kubernetes/kubeadm.yaml',
  ).stdin;
  const docs = parseAllDocuments(written).map((d) => {
    expect(d.errors).toEqual([]);
    return d.toJS() as Record<string, any>;
  });
  return new Map(docs.map((d) => [String(d.kind), d]));
}

/** kOps's taint text back from a rendered taint (or the whole text, kept as one key). */
function taintText(t: { key: string; value?: string; effect: string }): string[] {
  return [t.key, `${t.key}${t.value !== undefined ? `=${t.value}` : ''}:${t.effect}`];
}

describe.each(PAYLOADS)('user-data with %s in every field', (_name, payload) => {
  it('control plane: no payload runs, and every value arrives as data', () => {
    const input = hostileInput('control plane', payload);
    const { cluster, instanceGroup: ig } = input;
    const spec = cluster.spec;

    const run = runScript(renderUserData(input));

    expectNothingRan(run);
    const docs = kubeadmDocuments(run);
    const init = docs.get('InitConfiguration');
    const config = docs.get('ClusterConfiguration');
    expect(init.nodeRegistration.kubeletExtraArgs[0]).toEqual({
      name: 'node-labels',
      value: Object.entries(ig.spec.nodeLabels!)
        .map(([k, v]) => `${k}=${v}`)
        .join(','),
    });
    const rendered = (
      init.nodeRegistration.taints as Array<{ key: string; value?: string; effect: string }>
    ).flatMap(taintText);
    for (const taint of ig.spec.taints!) expect(rendered).toContain(taint);
    expect(config.clusterName).toBe(cluster.metadata.name);
    expect(config.kubernetesVersion).toBe(spec.kubernetesVersion);
    expect(config.controlPlaneEndpoint).toBe(`${spec.masterInternalName}:443`);
    expect(config.apiServer.certSANs).toEqual([spec.masterPublicName, spec.masterInternalName]);
    expect(config.networking).toEqual({
      serviceSubnet: spec.serviceClusterIPRange,
      podSubnet: spec.podCIDR,
    });
    expect(docs.get('KubeletConfiguration').maxPods).toBe(input.maxPods);
    const setEnv = callOf(run, (argv) => argv[0] === 'kubectl' && argv.includes('set'));
    const clusterName = cluster.metadata.name;
    expect(setEnv.argv.slice(setEnv.argv.indexOf('--') + 1)).toEqual([
      ...spec.networking!.amazonvpc!.env!.map((e) => `${e.name}=${e.value}`),
      // The interfaces' tags name the cluster as data too.
      `ADDITIONAL_ENI_TAGS=${JSON.stringify({ KubernetesCluster: clusterName, [`kubernetes.io/cluster/${clusterName}`]: 'owned' })}`,
    ]);
    const kubeconfig = callOf(run, (argv) => argv[0] === 'awk' && argv[1] === '--');
    expect(JSON.parse(kubeconfig.argv[3]!)).toBe(`https://${spec.masterInternalName}:443`);
    const volumes = callOf(
      run,
      (argv) => argv[0] === 'curl' && argv.includes('Action=DescribeVolumes'),
    );
    expect(volumes.argv).toEqual(
      expect.arrayContaining([
        'Filter.1.Name=tag:KubernetesCluster',
        `Filter.1.Value.1=${cluster.metadata.name}`,
        'Filter.2.Name=tag:kopsless.io/etcd',
        `Filter.2.Value.1=${ig.metadata.name}`,
      ]),
    );
    expect(volumes.argv).toContain(`aws:amz:${input.region}:ec2`);
    callOf(run, (argv) => argv[0] === 'curl' && argv.includes(vpcCniManifest().url));
    callOf(run, (argv) => argv[0] === 'sha256sum' && argv.includes('-c'));
    callOf(
      run,
      (argv) =>
        argv[0] === 'kubectl' && argv.includes('apply') && argv.includes('/tmp/aws-k8s-cni.yaml'),
    );
    callOf(
      run,
      (argv) =>
        argv[0] === 'curl' &&
        argv.includes(
          `${stateBucketUrl(input.stateBucket, input.region)}/${cluster.metadata.name}/secrets/bootstrap-token`,
        ),
    );
    callOf(
      run,
      (argv) => argv[0] === 'apt-get' && argv.includes(`kubelet=${spec.kubernetesVersion}-*`),
    );
    expect(run.stderr).toContain(
      `kopsless-bootstrap[${ig.metadata.name}.${cluster.metadata.name}]: bootstrapping Kubernetes ${spec.kubernetesVersion} with maxPods ${String(input.maxPods)}`,
    );
  });

  it('node: no payload runs, and every value arrives as data', () => {
    const input = hostileInput('node', payload);
    const { cluster, instanceGroup: ig } = input;

    const run = runScript(renderUserData(input));

    expectNothingRan(run);
    const docs = kubeadmDocuments(run);
    const join = docs.get('JoinConfiguration');
    expect(join.nodeRegistration.kubeletExtraArgs[0].value).toBe(
      Object.entries(ig.spec.nodeLabels!)
        .map(([k, v]) => `${k}=${v}`)
        .join(','),
    );
    const rendered = (
      join.nodeRegistration.taints as Array<{ key: string; value?: string; effect: string }>
    ).flatMap(taintText);
    for (const taint of ig.spec.taints!) expect(rendered).toContain(taint);
    expect(join.discovery.bootstrapToken.apiServerEndpoint).toBe(
      `${cluster.spec.masterInternalName}:443`,
    );
    expect(docs.get('KubeletConfiguration').maxPods).toBe(input.maxPods);
    callOf(
      run,
      (argv) =>
        argv[0] === 'curl' &&
        argv.includes(
          `${stateBucketUrl(input.stateBucket, input.region)}/${cluster.metadata.name}/pki/ca-cert-hash`,
        ),
    );
    expect(run.stderr).toContain(
      `kopsless-bootstrap[${ig.metadata.name}.${cluster.metadata.name}]: done`,
    );
  });

  it('bastion: no payload runs', () => {
    const input = hostileInput('bastion', payload);

    const run = runScript(renderUserData(input));

    expectNothingRan(run);
    expect(run.stderr).toContain(
      `kopsless-bootstrap[${input.instanceGroup.metadata.name}.${input.cluster.metadata.name}]: bastion`,
    );
  });
});

describe('the sandbox', () => {
  it('records a payload command that runs', () => {
    const run = runSandboxed('#!/bin/bash\nv="$(touch pwned-proof)"\n', COMMANDS);

    expect(run.calls.map((c) => c.argv)).toEqual([['touch', 'pwned-proof']]);
  });

  it('keeps a builtin write in its directory, where it is seen', () => {
    const run = runSandboxed('#!/bin/bash\necho hi >pwned-file\n', COMMANDS);

    expect(run.files).toEqual(['pwned-file']);
  });

  it.each([
    ['a command named by an absolute path', '/usr/bin/id'],
    ['eval', 'eval "id"'],
    ['exec', 'exec id'],
    ['a redirection to an absolute path', 'printf x > /tmp/kopsless-sandbox-escape'],
  ])('refuses %s without running it', (_what, command) => {
    const run = runSandboxed(`#!/bin/bash\n${command}\n`, COMMANDS);

    expect(run.blocked).toEqual([command]);
    expect(run.calls).toEqual([]);
    expect(run.status).toBe(97);
  });
});

describe('user-data of a valid manifest in the sandbox', () => {
  it.each([
    ['control plane', 'control-plane-us-east-1a', 'kubeadm init'],
    ['node', 'nodes-us-east-1a', 'kubeadm join'],
  ])('%s: runs to the end, calling only the expected commands by name', (_role, name, kubeadm) => {
    const script = renderUserData({
      cluster: seed.cluster,
      instanceGroup: groupNamed(name),
      maxPods: 17,
      stateBucket: 'state-bucket',
      region: 'us-east-1',
    });

    const run = runScript(script);

    expect(run.blocked).toEqual([]);
    expect(run.status).toBe(0);
    expect(run.calls.map((c) => c.argv[0]).filter((c) => !SCRIPT_COMMANDS.includes(c!))).toEqual(
      [],
    );
    expect(run.calls.some((c) => c.argv.slice(0, 2).join(' ') === kubeadm)).toBe(true);
    expect(run.files).toEqual([]);
  });
});
