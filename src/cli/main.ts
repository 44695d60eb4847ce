import { Command, CommanderError, Option } from 'commander';
import { KopslessError, SpecInvalidError, SpecUnsupportedError } from '../errors.js';
import { VPC_CNI_VERSION } from '../planning/vpc-cni.js';
import { KOPSLESS_VERSION } from '../state/cluster-store.js';
import { runCheck } from './check.js';
import { awsContext, localContext } from './context.js';
import { runCreate } from './create.js';
import { runDelete } from './delete.js';
import { runDemo } from './demo.js';
import { UsageError } from './format.js';
import { runGetClusters, runGetInstanceGroups } from './get.js';
import { runLocalDown, runLocalEnv, runLocalKubeconfig, runLocalUp } from './local.js';
import { runMaxPods } from './max-pods.js';
import { parseParallelGroups, runRollingUpdate } from './rolling-update.js';
import { runStartExecution } from './start-execution.js';
import { runReplace, runSet, runUpdate } from './update.js';
import { runValidate } from './validate.js';
import { runWatchEni, runWatchLoop } from './watch-eni.js';

const io = { out: (line: string) => console.log(line), err: (line: string) => console.error(line) };
const list = (value: string) =>
  value
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean);

/** Exit codes: 0 ok, 1 failed or invalid, 2 usage, 3 valid for kOps but unsupported here. */
let exitCode = 0;
const done = (code: number) => {
  exitCode = code;
};

export function buildProgram(): Command {
  const program = new Command('kopsless')
    .description(
      'kOps-style Kubernetes cluster lifecycle on AWS, run by Step Functions and Lambda (locally: moto)',
    )
    .version(KOPSLESS_VERSION)
    .exitOverride()
    .showHelpAfterError()
    .addOption(
      new Option(
        '--target <target>',
        'where to run: the local backend, or a deployed kopsless stack',
      )
        .choices(['local', 'aws'])
        .default(process.env.KOPSLESS_TARGET ?? 'local'),
    )
    .option(
      '--stack <name>',
      'with --target aws: the kopsless stack (sam deploy --stack-name)',
      process.env.KOPSLESS_STACK ?? 'kopsless',
    );

  /** The context of the chosen target, built when a command needs AWS. */
  const context = () => {
    const { target, stack } = program.opts<{ target: string; stack: string }>();
    return target === 'aws' ? awsContext(stack) : localContext();
  };
  const localOnly = (what: string) => {
    if (program.opts<{ target: string }>().target !== 'local')
      throw new UsageError(`${what} works on the local backend only (drop --target aws)`);
  };

  program
    .command('check')
    .description(
      'validate a kOps manifest offline (exit 0 valid, 1 invalid, 3 unsupported, 2 usage)',
    )
    .option(
      '-f, --filename <file>',
      'kOps manifest: one Cluster and its InstanceGroups ("-" for stdin)',
    )
    .addOption(new Option('-o, --output <format>', 'output format').choices(['json']))
    .action((options) => done(runCheck(options, io)));

  program
    .command('create')
    .description(
      'create a cluster from a manifest (-f) or from kOps `create cluster` flags; --yes runs it',
    )
    .argument('[resource]', '"cluster" when creating from flags')
    .option('-f, --filename <file>', 'kOps manifest ("-" for stdin)')
    .option(
      '-y, --yes',
      'run the create state machine (without it: register the spec and show the plan)',
    )
    .option('--name <name>', 'cluster name (a DNS name)')
    .option('--zones <zones>', 'availability zones, comma separated', list)
    .option(
      '--control-plane-zones <zones>',
      'zones for the control plane (default: the first zones)',
      list,
    )
    .option('--master-zones <zones>', 'alias of --control-plane-zones', list)
    .option('--networking <cni>', 'amazonvpc (default), cni, ...')
    .option('--node-count <n>', 'total nodes, spread over the zones', Number)
    .option('--node-size <type>', 'node instance type')
    .option('--control-plane-size <type>', 'control-plane instance type')
    .option('--master-size <type>', 'alias of --control-plane-size')
    .option('--control-plane-count <n>', 'control-plane instances (odd)', Number)
    .option('--master-count <n>', 'alias of --control-plane-count', Number)
    .option('--network-cidr <cidr>', 'VPC CIDR (default 172.20.0.0/16)')
    .option('--kubernetes-version <version>', 'Kubernetes version (default v1.32.0)')
    .addOption(
      new Option('--topology <topology>', 'public or private subnets').choices([
        'public',
        'private',
      ]),
    )
    .addOption(
      new Option('--dns <type>', 'public or private hosted zone, or none').choices([
        'public',
        'private',
        'none',
      ]),
    )
    .option(
      '--dns-zone <zone>',
      'existing hosted zone (name or ID) for the API records; default: the longest zone matching the name',
    )
    .addOption(
      new Option('--api-loadbalancer-type <type>', 'a Network Load Balancer for the API').choices([
        'public',
        'internal',
      ]),
    )
    .option('--network-id <vpc>', 'an existing VPC to create the cluster in')
    .option('--subnets <ids>', 'existing subnets, one per zone, comma separated', list)
    .option('--utility-subnets <ids>', 'existing utility subnets, one per zone', list)
    .option('--ssh-access <cidrs>', 'CIDRs allowed to SSH', list)
    .option('--admin-access <cidrs>', 'CIDRs allowed to reach the API', list)
    .option('--image <image>', 'AMI ID or owner/name')
    .option('--bastion', 'add a bastion instance group')
    .option('--dry-run', 'print the manifest the flags make and stop (with -o yaml)')
    .addOption(new Option('-o, --output <format>', 'with --dry-run').choices(['yaml']))
    .action(async (resource: string | undefined, o) => {
      if (resource !== undefined && resource !== 'cluster')
        throw new UsageError(
          `unknown resource "${resource}": use "create cluster" or "create -f FILE"`,
        );
      if (o.filename && o.name)
        throw new UsageError('give either -f FILE or --name with create cluster flags, not both');
      const flags =
        o.name || resource === 'cluster'
          ? {
              name: o.name ?? '',
              zones: o.zones ?? [],
              controlPlaneZones: o.controlPlaneZones ?? o.masterZones,
              networking: o.networking,
              nodeCount: o.nodeCount,
              nodeSize: o.nodeSize,
              controlPlaneSize: o.controlPlaneSize ?? o.masterSize,
              controlPlaneCount: o.controlPlaneCount ?? o.masterCount,
              networkCidr: o.networkCidr,
              kubernetesVersion: o.kubernetesVersion,
              topology: o.topology,
              dns: o.dns,
              dnsZone: o.dnsZone,
              sshAccess: o.sshAccess,
              adminAccess: o.adminAccess,
              image: o.image,
              bastion: o.bastion,
              apiLoadBalancerType: o.apiLoadbalancerType,
              networkId: o.networkId,
              subnets: o.subnets,
              utilitySubnets: o.utilitySubnets,
            }
          : undefined;
      done(
        await runCreate(
          {
            filename: o.filename,
            yes: o.yes,
            ...(flags ? { flags } : {}),
            printManifest: !!o.dryRun,
          },
          () => context(),
          io,
        ),
      );
    });

  const get = program
    .command('get')
    .description('list clusters and instance groups from the state store');
  get
    .command('clusters')
    .alias('cluster')
    .description(
      'NAME CLOUD ZONES; -o json|yaml includes the status (phase, last execution, last error)',
    )
    .argument('[names...]')
    .addOption(new Option('-o, --output <format>').choices(['json', 'yaml']))
    .action(async (names: string[], o) =>
      done(await runGetClusters(names, o, await context(), io)),
    );
  get
    .command('instancegroups')
    .aliases(['ig', 'instancegroup'])
    .description('NAME ROLE MACHINETYPE MIN MAX ZONES')
    .argument('[groups...]')
    .option('--name <cluster>', 'the cluster')
    .addOption(new Option('-o, --output <format>').choices(['json', 'yaml']))
    .action(async (groups: string[], o) =>
      done(await runGetInstanceGroups(groups, o, await context(), io)),
    );

  program
    .command('validate')
    .description('validate a cluster as kOps does (exit 0 healthy, 1 not)')
    .argument('<resource>', '"cluster"')
    .argument('<name>', 'the cluster')
    .option('--wait <duration>', 'retry until healthy or the duration (10m, 30s) passes')
    .addOption(new Option('-o, --output <format>').choices(['json']))
    .action(async (resource: string, name: string, o) => {
      if (resource !== 'cluster')
        throw new UsageError(`unknown resource "${resource}": use "validate cluster NAME"`);
      done(await runValidate(name, o, await context(), io));
    });

  program
    .command('update')
    .description(
      'apply the spec in the state store: new launch template versions and group settings; --yes applies',
    )
    .argument('<resource>', '"cluster"')
    .argument('<name>', 'the cluster')
    .option('-y, --yes', 'apply (without it: print what would change)')
    .action(async (resource: string, name: string, o) => {
      if (resource !== 'cluster')
        throw new UsageError(`unknown resource "${resource}": use "update cluster NAME"`);
      done(await runUpdate(name, o, await context(), io));
    });

  program
    .command('rolling-update')
    .description(
      'replace out-of-date instances (kOps rules); --yes runs the rolling-update state machine',
    )
    .argument('<resource>', '"cluster"')
    .argument('<name>', 'the cluster')
    .option('-y, --yes', 'roll (without it: show what needs an update)')
    .option(
      '--instance-group <names>',
      'only these instance groups (comma separated, repeatable)',
      (v: string, prev: string[] = []) => [...prev, ...list(v)],
    )
    .option('--force', 'replace every instance, up to date or not')
    .option('--cloudonly', 'do not drain or validate through Kubernetes')
    .option(
      '--parallel-groups <n>',
      "roll up to N node groups at once (1 to 20; default 1, kOps's order), never two in one availability zone",
    )
    .option(
      '--parallel-groups-same-zone',
      'with --parallel-groups: let groups rolled at once share an availability zone',
    )
    .action(async (resource: string, name: string, o) => {
      if (resource !== 'cluster')
        throw new UsageError(`unknown resource "${resource}": use "rolling-update cluster NAME"`);
      // Checked before the backend is reached: a wrong number changes nothing.
      const parallel = parseParallelGroups(o.parallelGroups);
      if ('error' in parallel) {
        io.err(parallel.error);
        return done(1);
      }
      done(await runRollingUpdate(name, o, await context(), io));
    });

  program
    .command('delete')
    .description('delete a cluster: every resource tagged for it, then its state; --yes deletes')
    .argument('<resource>', '"cluster"')
    .argument('<name>', 'the cluster')
    .option('-y, --yes', 'delete (without it: list what would be deleted)')
    .action(async (resource: string, name: string, o) => {
      if (resource !== 'cluster')
        throw new UsageError(`unknown resource "${resource}": use "delete cluster NAME"`);
      done(await runDelete(name, o, await context(), io));
    });

  program
    .command('replace')
    .description(
      'replace the spec of an existing cluster with a manifest (apply it with update cluster)',
    )
    .option('-f, --filename <file>', 'kOps manifest ("-" for stdin)')
    .action(async (o) => done(await runReplace(o.filename, await context(), io)));

  const set = program
    .command('set')
    .description('change spec fields in the state store (apply them with update cluster)');
  set
    .command('instancegroup')
    .aliases(['ig', 'instancegroups'])
    .argument('<ig>', 'the instance group')
    .argument('<assignments...>', 'FIELD=VALUE, e.g. spec.machineType=m5.large')
    .requiredOption('--name <cluster>', 'the cluster')
    .action(async (ig: string, assignments: string[], o) =>
      done(await runSet('instancegroup', ig, assignments, o.name, await context(), io)),
    );
  set
    .command('cluster')
    .argument('<assignments...>', 'FIELD=VALUE, e.g. spec.kubelet.maxPods=110')
    .requiredOption('--name <cluster>', 'the cluster')
    .action(async (assignments: string[], o) =>
      done(await runSet('cluster', undefined, assignments, o.name, await context(), io)),
    );

  const local = program
    .command('local')
    .description('the local backend: moto on 127.0.0.1, kept running between commands');
  local.hook('preAction', () => localOnly('kopsless local'));
  local
    .command('up')
    .description('start the local backend')
    .option('--watch', 'then run the ENI capacity watcher over every local cluster on an interval')
    .option('--interval <duration>', 'with --watch: how often (default 60s)')
    .action(async (o) => {
      const code = await runLocalUp(io);
      done(o.watch && code === 0 ? await runWatchLoop(o.interval, await context(), io) : code);
    });
  local
    .command('down')
    .description('stop it (its state is gone)')
    .action(() => done(runLocalDown(io)));
  local
    .command('env')
    .description('print AWS_ENDPOINT_URL, region and credentials for the AWS CLI')
    .action(async () => done(await runLocalEnv(io)));
  local
    .command('kubeconfig')
    .description(
      'print a kubeconfig for the simulated Kubernetes API of a local cluster (for kubectl)',
    )
    .argument('[cluster]')
    .action(async (cluster: string | undefined) =>
      done(await runLocalKubeconfig(cluster, await context(), io)),
    );
  local
    .command('start-execution')
    .description(
      'run a state machine with a JSON input to its end, as the console or `aws stepfunctions start-execution` would (exit 0 SUCCEEDED, 1 FAILED, 2 not started)',
    )
    .argument('<state-machine>', 'create-cluster, update-cluster, rolling-update or delete-cluster')
    .requiredOption('--input <json>', 'the execution input: JSON, or @FILE')
    .addOption(
      new Option(
        '-o, --output <format>',
        'the result as {executionArn, status, error, cause, historyEvents, transitions, output}',
      ).choices(['json']),
    )
    .action(async (machine: string, o) =>
      done(await runStartExecution(machine, o, await context(), io)),
    );
  local
    .command('api')
    .description(
      'serve the REST API on 127.0.0.1 as API Gateway does (SigV4-checked); its executions run here',
    )
    .option('--port <port>', 'the port (default: any free one)')
    .action(async (o) => {
      const { runLocalApi } = await import('./local-api.js');
      done(await runLocalApi(o, await context(), io));
    });
  local
    .command('events')
    .description(
      'print the status changes of local executions and the notifications a deployed stack would send',
    )
    .option('--follow', 'keep printing new events until interrupted')
    .addOption(new Option('-o, --output <format>', 'one JSON entry per line').choices(['json']))
    .action(async (o) => {
      const { runLocalEvents } = await import('./local-events.js');
      done(await runLocalEvents(o, io));
    });

  program
    .command('watch-eni')
    .description(
      'run the ENI capacity watcher once for a cluster: pod slots, decision, and (unless --dry-run) its action',
    )
    .argument('<cluster>')
    .option('--dry-run', 'decide and record, change nothing')
    .addOption(new Option('-o, --output <format>').choices(['json']))
    .action(async (cluster: string, o) => done(await runWatchEni(cluster, o, await context(), io)));

  program
    .command('max-pods')
    .description(
      'max pods per node under the Amazon VPC CNI (the EKS max-pods calculator), from DescribeInstanceTypes',
    )
    .argument('<types...>', 'instance types')
    .option(
      '--cni-version <version>',
      'VPC CNI version (prefix delegation needs 1.9.0+)',
      VPC_CNI_VERSION,
    )
    .option('--prefix-delegation', 'with prefix delegation (Nitro and bare metal only)')
    .option('--custom-networking', 'with custom networking (one ENI fewer)')
    .option('--cni-max-eni <n>', "the CNI's MAX_ENI")
    .option('--show-max-allowed', 'the uncapped value (no 110/250 cap)')
    .addOption(new Option('-o, --output <format>').choices(['json']))
    .action(async (types: string[], o) => done(await runMaxPods(types, o, await context(), io)));

  program
    .command('demo')
    .description('the seed scenario on the local backend: create a cluster, showing each stage')
    .action(async () => {
      localOnly('kopsless demo');
      done(await runDemo(() => context(), io));
    });
  return program;
}

function report(error: unknown): number {
  if (error instanceof CommanderError) {
    if (['commander.helpDisplayed', 'commander.help', 'commander.version'].includes(error.code))
      return 0;
    return 2;
  }
  if (error instanceof UsageError) {
    io.err(`error: ${error.message}`);
    return 2;
  }
  if (error instanceof SpecInvalidError || error instanceof SpecUnsupportedError) {
    for (const i of error.issues) io.err(`${i.path}: ${i.message}`);
    return error instanceof SpecUnsupportedError ? 3 : 1;
  }
  if (error instanceof KopslessError) {
    io.err(`${error.name}: ${oneLine(error.message)}`);
    return 1;
  }
  // Anything else (an SDK error, a network failure, a bug): one line; the stack only when asked for.
  const e = error as Error;
  const message = `error: ${e instanceof Error && e.name !== 'Error' ? `${e.name}: ` : ''}${oneLine(e instanceof Error ? e.message : String(error))}`;
  if (process.env.KOPSLESS_DEBUG) io.err(`${message}\n${String(e?.stack ?? error)}`);
  else io.err(`${message} (KOPSLESS_DEBUG=1 prints the stack trace)`);
  return 1;
}

/** The first line of a message, so an error is one line whatever produced it. */
function oneLine(message: string): string {
  return (
    message
      .split('\n')
      .find((l) => l.trim() !== '')
      ?.trim() ?? message
  );
}

export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (error) {
    return report(error);
  }
}
