import { Command, CommanderError, Option } from 'commander';
import { KopslessError, SpecInvalidError, SpecUnsupportedError } from '../errors.js';
import { VPC_CNI_VERSION } from '../planning/vpc-cni.js';
import { KOPSLESS_VERSION } from '../version.js';
import { clusterName } from './cluster-name.js';
import type { CliContext, ContextOptions } from './context.js';
import { type Io, UsageError } from './usage-error.js';

// Every command module is imported when its command runs, not before: `kopsless version` loads
// commander and nothing else, and `get clusters` never loads the Step Functions emulator.

const io: Io = { out: (line) => console.log(line), err: (line) => console.error(line) };
const list = (value: string) =>
  value
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean);
const nameOption = () =>
  new Option('--name <cluster>', 'the cluster (default: $KOPS_CLUSTER_NAME)');
const outputOption = (...formats: string[]) =>
  new Option('-o, --output <format>', 'output format').choices(formats);

/** Exit codes: 0 ok, 1 failed or invalid, 2 usage, 3 valid for kOps but unsupported here. */
let exitCode = 0;
const done = (code: number) => {
  exitCode = code;
};
/** The command being run, for the `see 'kopsless X --help'` of a usage error. */
let current: Command | undefined;

/** Requires the resource word kOps users type (`update cluster`), naming the right form when wrong. */
function resource(word: string | undefined, expected: string[], usage: string): void {
  if (word !== undefined && !expected.includes(word))
    throw new UsageError(`unknown resource "${word}": use "${usage}"`);
}

type Context = (options?: ContextOptions) => Promise<CliContext>;

/** The global options, and a context of the chosen target built only when a command needs AWS. */
function programWithTarget(): {
  program: Command;
  context: Context;
  localOnly: (what: string) => void;
} {
  const program = new Command('kopsless')
    .description(
      'kOps-style Kubernetes cluster lifecycle on AWS, run by Step Functions and Lambda (locally: moto)',
    )
    .version(KOPSLESS_VERSION)
    .exitOverride()
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
  const context: Context = async (options) => {
    const { target, stack } = program.opts<{ target: string; stack: string }>();
    const { awsContext, localContext } = await import('./context.js');
    return target === 'aws' ? awsContext(stack) : localContext(undefined, options);
  };
  const localOnly = (what: string) => {
    if (program.opts<{ target: string }>().target !== 'local')
      throw new UsageError(`${what} works on the local backend only (drop --target aws)`);
  };
  return { program, context, localOnly };
}

function addCheck(program: Command): void {
  program
    .command('check')
    .description(
      'validate a kOps manifest offline (exit 0 valid, 1 invalid, 3 unsupported, 2 usage)',
    )
    .option(
      '-f, --filename <file>',
      'kOps manifest: one Cluster and its InstanceGroups ("-" for stdin)',
    )
    .addOption(outputOption('json'))
    .action(async (options) => done((await import('./check.js')).runCheck(options, io)));
}

function addCreate(program: Command, context: Context): void {
  program
    .command('create')
    .description(
      'register a cluster from a manifest (-f) or from kOps `create cluster` flags; --yes also builds it',
    )
    .argument('[resource]', '"cluster" when creating from flags')
    .option('-f, --filename <file>', 'kOps manifest ("-" for stdin)')
    .option(
      '-y, --yes',
      'build it now (without it: register the spec, show the plan; build with update cluster --yes)',
    )
    .option('--name <name>', 'cluster name (a DNS name; default: $KOPS_CLUSTER_NAME)')
    .option('--cloud <cloud>', 'cloud provider: aws (the only one kopsless runs)')
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
    .option('--node-volume-size <GiB>', 'root volume size of the nodes', Number)
    .option('--control-plane-size <type>', 'control-plane instance type')
    .option('--master-size <type>', 'alias of --control-plane-size')
    .option('--control-plane-volume-size <GiB>', 'root volume size of the control plane', Number)
    .option('--master-volume-size <GiB>', 'alias of --control-plane-volume-size', Number)
    .option('--control-plane-count <n>', 'control-plane instances (odd)', Number)
    .option('--master-count <n>', 'alias of --control-plane-count', Number)
    .option('--network-cidr <cidr>', 'VPC CIDR (default 172.20.0.0/16)')
    .option('--kubernetes-version <version>', 'Kubernetes version (default v1.34.0)')
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
    .option(
      '--ssh-public-key <file>',
      'SSH public key for the instances (an EC2 key pair is imported from it)',
    )
    .option('--admin-access <cidrs>', 'CIDRs allowed to reach the API', list)
    .option('--image <image>', 'AMI ID or owner/name')
    .option('--bastion', 'add a bastion instance group')
    .option('--dry-run', 'print the manifest the flags make and stop (with -o yaml)')
    .addOption(new Option('-o, --output <format>', 'with --dry-run').choices(['yaml']))
    .action(async (word: string | undefined, o) => {
      resource(word, ['cluster'], 'create cluster" or "create -f FILE');
      const name = o.name || (word === 'cluster' ? process.env.KOPS_CLUSTER_NAME : undefined);
      if (o.filename && o.name)
        throw new UsageError('give either -f FILE or --name with create cluster flags, not both');
      if (o.cloud !== undefined && o.cloud !== 'aws')
        throw new UsageError(
          `--cloud ${o.cloud}: kopsless runs clusters on AWS only (--cloud aws)`,
        );
      const { runCreate } = await import('./create.js');
      const flags =
        name || word === 'cluster'
          ? {
              name: name ?? '',
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
      const volumes = {
        nodeVolumeSize: o.nodeVolumeSize,
        controlPlaneVolumeSize: o.controlPlaneVolumeSize ?? o.masterVolumeSize,
        sshPublicKey: o.sshPublicKey,
      };
      done(
        await runCreate(
          {
            filename: o.filename,
            yes: o.yes,
            ...(flags ? { flags, extraFlags: volumes } : {}),
            printManifest: !!o.dryRun,
          },
          context,
          io,
        ),
      );
    });
}

/**
 * `get` takes --name and -o itself (`get NAME`) and so do its subcommands; commander gives an
 * option to the first command that declares it, so a subcommand reads its own and get's.
 */
function addGet(program: Command, context: Context): void {
  const get = program
    .command('get')
    .description(
      'list clusters, instance groups and instances; `get NAME`: a cluster and its groups',
    )
    .argument('[cluster]', 'a cluster: the cluster and its instance groups')
    .addOption(nameOption())
    .addOption(outputOption('json', 'yaml'))
    .action(async (cluster: string | undefined, _o, command: Command) => {
      const o = command.optsWithGlobals();
      const { runGetAll } = await import('./get.js');
      done(await runGetAll(clusterName(cluster, o.name), o, await context(), io));
    });
  get
    .command('clusters')
    .alias('cluster')
    .description(
      'NAME CLOUD ZONES; -o json|yaml includes the status (phase, last execution, last error)',
    )
    .argument('[names...]')
    .addOption(outputOption('json', 'yaml'))
    .action(async (names: string[], _o, command: Command) => {
      const o = command.optsWithGlobals();
      const { runGetClusters } = await import('./get.js');
      done(await runGetClusters(names, o, await context(), io));
    });
  get
    .command('instancegroups')
    .aliases(['ig', 'instancegroup'])
    .description('NAME ROLE MACHINETYPE MIN MAX ZONES')
    .argument('[groups...]')
    .addOption(nameOption())
    .addOption(outputOption('json', 'yaml'))
    .action(async (groups: string[], _o, command: Command) => {
      const o = command.optsWithGlobals();
      const { runGetInstanceGroups } = await import('./get.js');
      const name = clusterName(undefined, o.name);
      done(await runGetInstanceGroups(groups, { ...o, name }, await context(), io));
    });
  get
    .command('instances')
    .alias('instance')
    .description('ID NODE-NAME STATUS ROLES STATE INTERNAL-IP INSTANCE-GROUP MACHINE-TYPE')
    .argument('[cluster]')
    .addOption(nameOption())
    .addOption(outputOption('json', 'yaml'))
    .action(async (cluster: string | undefined, _o, command: Command) => {
      const o = command.optsWithGlobals();
      const { runGetInstances } = await import('./get-instances.js');
      done(await runGetInstances(clusterName(cluster, o.name), o, await context(), io));
    });
  get
    .command('all')
    .description('the cluster, its instance groups and its instances')
    .argument('[cluster]')
    .addOption(nameOption())
    .addOption(outputOption('json', 'yaml'))
    .action(async (cluster: string | undefined, _o, command: Command) => {
      const o = command.optsWithGlobals();
      const { runGetAll } = await import('./get.js');
      done(
        await runGetAll(
          clusterName(cluster, o.name),
          { ...o, instances: true },
          await context(),
          io,
        ),
      );
    });
}

/** `validate|update|rolling-update|delete cluster [NAME]`: the name as argument, --name or $KOPS_CLUSTER_NAME. */
function clusterCommand(program: Command, verb: string, description: string): Command {
  return program
    .command(verb)
    .description(description)
    .argument('[resource]', '"cluster"')
    .argument('[name]', 'the cluster (or --name, or $KOPS_CLUSTER_NAME)')
    .addOption(nameOption());
}

function addLifecycle(program: Command, context: Context): void {
  clusterCommand(program, 'validate', 'validate a cluster as kOps does (exit 0 healthy, 1 not)')
    .option('--wait <duration>', 'retry until healthy or the duration (10m, 30s) passes')
    .addOption(outputOption('json'))
    .action(async (word: string | undefined, arg: string | undefined, o) => {
      resource(word, ['cluster'], 'validate cluster NAME');
      const name = clusterName(arg, o.name);
      const { runValidate } = await import('./validate.js');
      done(await runValidate(name, o, await context(), io));
    });

  clusterCommand(
    program,
    'update',
    'build or apply the spec in the state store (stack, launch templates, groups); --yes applies',
  )
    .option('-y, --yes', 'apply (without it: print what would change)')
    .action(async (word: string | undefined, arg: string | undefined, o) => {
      resource(word, ['cluster'], 'update cluster NAME');
      const name = clusterName(arg, o.name);
      const { runUpdate } = await import('./update.js');
      done(await runUpdate(name, o, await context(), io));
    });

  clusterCommand(
    program,
    'rolling-update',
    'replace out-of-date instances (kOps rules); --yes runs the rolling-update state machine',
  )
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
    .action(async (word: string | undefined, arg: string | undefined, o) => {
      resource(word, ['cluster'], 'rolling-update cluster NAME');
      const name = clusterName(arg, o.name);
      const { parseParallelGroups, runRollingUpdate } = await import('./rolling-update.js');
      // Checked before the backend is reached: a wrong number changes nothing.
      const parallel = parseParallelGroups(o.parallelGroups);
      if ('error' in parallel) {
        io.err(parallel.error);
        return done(1);
      }
      done(await runRollingUpdate(name, o, await context(), io));
    });

  clusterCommand(
    program,
    'delete',
    'delete a cluster (or the cluster of a manifest, -f): every resource tagged for it, then its state; --yes deletes',
  )
    .option('-f, --filename <file>', 'kOps manifest: delete the cluster it describes')
    .option('-y, --yes', 'delete (without it: list what would be deleted)')
    .action(async (word: string | undefined, arg: string | undefined, o) => {
      const { runDelete, clusterOfManifest } = await import('./delete.js');
      if (o.filename) {
        if (word !== undefined || o.name)
          throw new UsageError('give either -f FILE or "delete cluster NAME", not both');
        done(await runDelete(clusterOfManifest(o.filename), o, await context(), io));
        return;
      }
      resource(word, ['cluster'], 'delete cluster NAME" or "delete -f FILE');
      done(await runDelete(clusterName(arg, o.name), o, await context(), io));
    });
}

function addSpecCommands(program: Command, context: Context): void {
  program
    .command('replace')
    .description(
      'replace the spec of an existing cluster with a manifest (apply it with update cluster)',
    )
    .option('-f, --filename <file>', 'kOps manifest ("-" for stdin)')
    .action(async (o) => {
      const { runReplace } = await import('./update.js');
      done(await runReplace(o.filename, await context(), io));
    });

  const edit = program
    .command('edit')
    .description('edit the spec in $KUBE_EDITOR or $EDITOR (apply it with update cluster)');
  edit
    .command('cluster')
    .argument('[cluster]')
    .addOption(nameOption())
    .description('edit the Cluster object')
    .action(async (cluster: string | undefined, o) => {
      const { runEdit } = await import('./edit.js');
      done(await runEdit({ cluster: clusterName(cluster, o.name) }, await context(), io));
    });
  edit
    .command('instancegroup')
    .aliases(['ig', 'instancegroups'])
    .argument('<ig>', 'the instance group')
    .addOption(nameOption())
    .description('edit an InstanceGroup object')
    .action(async (ig: string, o) => {
      const { runEdit } = await import('./edit.js');
      done(
        await runEdit(
          { cluster: clusterName(undefined, o.name), instanceGroup: ig },
          await context(),
          io,
        ),
      );
    });

  const set = program
    .command('set')
    .description('change spec fields in the state store (apply them with update cluster)');
  set
    .command('instancegroup')
    .aliases(['ig', 'instancegroups'])
    .argument('<ig>', 'the instance group')
    .argument('<assignments...>', 'FIELD=VALUE, e.g. spec.machineType=m5.large')
    .addOption(nameOption())
    .action(async (ig: string, assignments: string[], o) => {
      const name = clusterName(undefined, o.name);
      const { runSet } = await import('./update.js');
      done(await runSet('instancegroup', ig, assignments, name, await context(), io));
    });
  set
    .command('cluster')
    .argument('<assignments...>', 'FIELD=VALUE, e.g. spec.kubelet.maxPods=110')
    .addOption(nameOption())
    .action(async (assignments: string[], o) => {
      const name = clusterName(undefined, o.name);
      const { runSet } = await import('./update.js');
      done(await runSet('cluster', undefined, assignments, name, await context(), io));
    });
}

function addExportAndToolbox(program: Command, context: Context): void {
  program
    .command('export')
    .description('export configuration')
    .command('kubeconfig')
    .alias('kubecfg')
    .description(
      'merge the cluster into $KUBECONFIG (or ~/.kube/config) and make it the current context',
    )
    .argument('[cluster]')
    .addOption(nameOption())
    .option('--admin', "with the cluster's admin credentials (without: no user credentials)")
    .option('--kubeconfig <file>', 'the file to merge into')
    .action(async (cluster: string | undefined, o) => {
      const { runExportKubeconfig } = await import('./export-kubeconfig.js');
      done(await runExportKubeconfig(clusterName(cluster, o.name), o, await context(), io));
    });

  program
    .command('toolbox')
    .description('tools for operators')
    .command('dump')
    .description("the cluster's cloud resources, instances and Kubernetes nodes")
    .argument('[cluster]')
    .addOption(nameOption())
    .addOption(outputOption('yaml', 'json').default('yaml'))
    .action(async (cluster: string | undefined, o) => {
      const { runToolboxDump } = await import('./toolbox-dump.js');
      done(await runToolboxDump(clusterName(cluster, o.name), o, await context(), io));
    });
}

function addLocal(program: Command, context: Context, localOnly: (what: string) => void): void {
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
      const { runLocalUp } = await import('./local.js');
      const code = await runLocalUp(io);
      if (!o.watch || code !== 0) return done(code);
      const { runWatchLoop } = await import('./watch-eni.js');
      done(await runWatchLoop(o.interval, await context(), io));
    });
  local
    .command('down')
    .description('stop it (its state is gone)')
    .action(async () => done((await import('./local.js')).runLocalDown(io)));
  local
    .command('env')
    .description('print AWS_ENDPOINT_URL, region and credentials for the AWS CLI')
    .action(async () => done(await (await import('./local.js')).runLocalEnv(io)));
  local
    .command('kubeconfig')
    .description(
      'print a kubeconfig for the simulated Kubernetes API of a local cluster (for kubectl)',
    )
    .argument('[cluster]')
    .action(async (cluster: string | undefined) => {
      const { runLocalKubeconfig } = await import('./local.js');
      done(await runLocalKubeconfig(cluster, await context(), io));
    });
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
    .action(async (machine: string, o) => {
      const { runStartExecution } = await import('./start-execution.js');
      done(await runStartExecution(machine, o, await context(), io));
    });
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
}

function addTools(program: Command, context: Context, localOnly: (what: string) => void): void {
  program
    .command('watch-eni')
    .description(
      'run the ENI capacity watcher once for a cluster: pod slots, decision, and (unless --dry-run) its action',
    )
    .argument('[cluster]')
    .addOption(nameOption())
    .option('--dry-run', 'decide and record, change nothing')
    .addOption(outputOption('json'))
    .action(async (cluster: string | undefined, o) => {
      const { runWatchEni } = await import('./watch-eni.js');
      done(await runWatchEni(clusterName(cluster, o.name), o, await context(), io));
    });

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
    .addOption(outputOption('json'))
    .action(async (types: string[], o) => {
      const { runMaxPods } = await import('./max-pods.js');
      done(await runMaxPods(types, o, await context(), io));
    });

  program
    .command('demo')
    .description('the seed scenario on the local backend: create a cluster, showing each stage')
    .action(async () => {
      localOnly('kopsless demo');
      const { runDemo } = await import('./demo.js');
      done(await runDemo(context, io));
    });

  program
    .command('version')
    .description('print the kopsless version')
    .option('--short', 'the version only')
    .action((o) => {
      io.out(o.short ? KOPSLESS_VERSION : `Client version: ${KOPSLESS_VERSION}`);
      done(0);
    });

  program
    .command('completion')
    .description('shell completion: source <(kopsless completion bash)')
    .argument('<shell>', 'bash or zsh')
    .action(async (shell: string) => {
      const { completionScript } = await import('./completion.js');
      io.out(completionScript(program, shell));
      done(0);
    });
}

/**
 * The `kopsless` program. A usage error prints one line, the problem and where the help is, as
 * kOps does, never the whole help.
 */
export function buildProgram(): Command {
  const { program, context, localOnly } = programWithTarget();
  addCheck(program);
  addCreate(program, context);
  addGet(program, context);
  addLifecycle(program, context);
  addSpecCommands(program, context);
  addExportAndToolbox(program, context);
  addLocal(program, context, localOnly);
  addTools(program, context, localOnly);
  program.hook('preAction', (_program, command) => {
    current = command;
  });
  oneLineUsageErrors(program);
  return program;
}

/** Every command reports its usage errors in one line that names its own help. */
function oneLineUsageErrors(command: Command): void {
  command.configureOutput({
    outputError: (message, write) =>
      // Commander puts its "(Did you mean ...?)" on a line of its own; one line keeps it greppable.
      write(`${message.trim().replace(/\s*\n\s*/g, ' ')}; see '${commandPath(command)} --help'\n`),
  });
  for (const sub of command.commands) oneLineUsageErrors(sub);
}

function commandPath(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

function report(error: unknown): number {
  if (error instanceof CommanderError) {
    if (['commander.helpDisplayed', 'commander.help', 'commander.version'].includes(error.code))
      return 0;
    return 2;
  }
  if (error instanceof UsageError) {
    io.err(
      `error: ${error.message}; see '${commandPath(current ?? new Command('kopsless'))} --help'`,
    );
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

/** Runs the CLI on `argv` (without `node` and the script); resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (error) {
    return report(error);
  }
}
