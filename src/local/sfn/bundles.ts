import { type ChildProcess, fork } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  LAMBDA_EXIT_ERROR,
  LAMBDA_OUT_OF_MEMORY_ERROR,
  LAMBDA_TIMEOUT_ERROR,
} from '../../errors.js';
import type { FunctionLogicalId } from '../../functions-registry.js';
import type { LocalFunctionHost } from './cluster-api.js';
import { namedError } from './execution-model.js';
import type { LocalHandler, LocalSettings } from './handlers.js';
import {
  type BuiltBundle,
  buildAllBundles,
  buildClusterApiLayer,
  CLUSTER_API_LAYER_BUILD,
  ESBUILD_BINARY,
} from './sam-build.js';
import {
  handlerParts,
  type LocalDeployment,
  PROJECT_ROOT,
  readSamTemplate,
  resolvedEnvironment,
  type TemplateFunction,
  templateFunctions,
} from './sam-template.js';

/**
 * `KOPSLESS_BUNDLES=1`: the local runner invokes each function's bundle (built as `sam build`
 * builds it) instead of its sources, as Lambda would: one warm Node.js process per function
 * and concurrent invocation, started with the function's template environment, its MemorySize
 * and its Timeout enforced. A process that runs past its Timeout or out of memory is killed and
 * the invocation fails under the error name Lambda gives it (src/errors.ts).
 */

/** The environment variable that turns bundle mode on for every local run of the process. */
export const BUNDLES_VARIABLE = 'KOPSLESS_BUNDLES';

/** KOPSLESS_BUNDLES has a value it does not take, or asks for what cannot be combined with it. */
export class BundleSettingsError extends Error {
  override readonly name = 'BundleSettingsError';
}

/**
 * True when KOPSLESS_BUNDLES=1 asks for bundles (0 or unset: the sources, in-process). Refused:
 * another value, and KOPSLESS_FAULTS beside it (faults are injected into the SDK clients of the
 * runner's own process, and a bundle's process has its own).
 */
export function bundleMode(env: Record<string, string | undefined> = process.env): boolean {
  const value = env[BUNDLES_VARIABLE];
  if (value === undefined || value === '' || value === '0') return false;
  if (value !== '1')
    throw new BundleSettingsError(
      `${BUNDLES_VARIABLE} must be 1 (run the bundles) or 0, got "${value}"`,
    );
  if (env.KOPSLESS_FAULTS)
    throw new BundleSettingsError(
      `${BUNDLES_VARIABLE}=1 and KOPSLESS_FAULTS cannot be combined: faults are injected into the SDK clients of the runner's process, and a bundle has its own`,
    );
  return true;
}

const RUNTIME_SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'bundle-runtime.mjs');
/** Where bundle mode keeps what it built, one directory per state of the sources. */
const CACHE_ROOT = join(PROJECT_ROOT, 'dist', 'bundle-cache');

/** What a bundle is built from: the files under these paths, and these files. */
const SOURCE_DIRS = ['src', 'functions'];
const SOURCE_FILES = ['template.yaml', 'package-lock.json'];

function listFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? listFiles(join(dir, entry.name))
      : entry.isFile()
        ? [join(dir, entry.name)]
        : [],
  );
}

/** A digest of everything the bundles are built from (names, sizes, modification times). */
function sourcesDigest(): string {
  const hash = createHash('sha256');
  const files = [
    ...SOURCE_DIRS.flatMap((d) => listFiles(join(PROJECT_ROOT, d))),
    ...SOURCE_FILES.map((f) => join(PROJECT_ROOT, f)),
    ESBUILD_BINARY,
  ].sort();
  for (const file of files) {
    const stat = statSync(file);
    hash.update(`${file.slice(PROJECT_ROOT.length)}\0${stat.size}\0${stat.mtimeMs}\n`);
  }
  return hash.digest('hex').slice(0, 16);
}

/** Which module each function's Handler loads, kept beside a finished build. */
const MODULES_FILE = 'modules.json';

function builtIn(root: string, functions: Record<FunctionLogicalId, TemplateFunction>) {
  const modules = JSON.parse(readFileSync(join(root, MODULES_FILE), 'utf8')) as Record<
    string,
    string
  >;
  const entries = Object.values(functions).map((fn) => {
    const bundle: BuiltBundle = {
      logicalId: fn.logicalId,
      dir: join(root, fn.logicalId),
      module: join(root, fn.logicalId, modules[fn.logicalId] ?? ''),
      exportName: handlerParts(fn.handler).exportName,
    };
    return [fn.logicalId, bundle] as const;
  });
  return Object.fromEntries(entries) as Record<FunctionLogicalId, BuiltBundle>;
}

/** A build lock older than this was left by a process that died while building. */
const STALE_LOCK_MS = 5 * 60 * 1000;
/** How often a process that waits for another's build looks whether it is done. */
const LOCK_POLL_MS = 500;

/**
 * Takes the build lock of `dir` (a directory made next to it: mkdir either makes it or fails),
 * or returns false once another process has finished the same build.
 */
async function takeBuildLock(dir: string): Promise<boolean> {
  const lock = `${dir}.lock`;
  for (;;) {
    if (existsSync(join(dir, MODULES_FILE))) return false;
    try {
      mkdirSync(lock);
      return true;
    } catch {
      // Another process builds the same sources: wait for it, unless it died at it.
      try {
        if (Date.now() - statSync(lock).mtimeMs > STALE_LOCK_MS)
          rmSync(lock, { recursive: true, force: true });
      } catch {
        // The lock went while we looked: try again at once.
      }
      await new Promise((resolve) => setTimeout(resolve, LOCK_POLL_MS));
    }
  }
}

async function buildOnce(digest: string): Promise<Record<FunctionLogicalId, BuiltBundle>> {
  const functions = templateFunctions();
  const dir = join(CACHE_ROOT, digest);
  mkdirSync(CACHE_ROOT, { recursive: true });
  if (!(await takeBuildLock(dir))) return builtIn(dir, functions);
  try {
    const scratch = `${dir}.${process.pid}-${randomUUID().slice(0, 8)}`;
    const built = await buildAllBundles(scratch, functions);
    // The clusters' API functions run the deployment's layer, built beside the functions.
    await buildClusterApiLayer(join(scratch, CLUSTER_API_LAYER_BUILD));
    const modules = Object.values(built).map((b) => [
      b.logicalId,
      b.module.slice(b.dir.length + 1),
    ]);
    writeFileSync(join(scratch, MODULES_FILE), JSON.stringify(Object.fromEntries(modules)));
    renameSync(scratch, dir);
  } finally {
    rmSync(`${dir}.lock`, { recursive: true, force: true });
  }
  pruneBuilds(dir);
  return builtIn(dir, functions);
}

/** How long a build of sources that have changed since is kept (a run may still be using it). */
const STALE_BUILD_MS = 24 * 60 * 60 * 1000;

/** Removes the builds of earlier sources once they are a day old. */
function pruneBuilds(current: string): void {
  for (const entry of readdirSync(CACHE_ROOT, { withFileTypes: true })) {
    const path = join(CACHE_ROOT, entry.name);
    if (path === current || !entry.isDirectory()) continue;
    if (Date.now() - statSync(path).mtimeMs > STALE_BUILD_MS)
      rmSync(path, { recursive: true, force: true });
  }
}

const builds = new Map<string, Promise<Record<FunctionLogicalId, BuiltBundle>>>();

/**
 * Every function's bundle for the sources as they are now: built once into dist/bundle-cache/,
 * then reused by every run and every process until a source changes. One process builds while
 * the others that need the same build wait for it.
 */
export function currentBundles(): Promise<Record<FunctionLogicalId, BuiltBundle>> {
  const digest = sourcesDigest();
  let built = builds.get(digest);
  if (!built) {
    built = buildOnce(digest);
    built.catch(() => builds.delete(digest));
    builds.set(digest, built);
  }
  return built;
}

/**
 * A function's environment as Lambda gives it: exactly the template's variables (intrinsics
 * resolved to the local deployment), then the variables Lambda's runtime sets itself, with the
 * local backend's credentials as the execution role's and its endpoint as AWS_ENDPOINT_URL.
 * AWS_LAMBDA_FUNCTION_NAME is left out: a handler reads it to know that its executions are Step
 * Functions' (write-state asks DescribeExecution about a lock's owner), and the local runner's
 * executions are not.
 */
export function lambdaEnvironment(
  fn: TemplateFunction,
  bundle: Pick<BuiltBundle, 'dir'>,
  settings: LocalSettings,
  clusterApiEndpoint?: string,
): Record<string, string> {
  const region = settings.config.region;
  // The HostedZoneId parameter as the runner was given it (ALLOWED_HOSTED_ZONE_ID), else its default.
  const zone = settings.config.allowedHostedZoneId;
  const deployment: LocalDeployment = {
    stateBucket: settings.config.stateBucket,
    region,
    ...(zone ? { parameters: { HostedZoneId: zone } } : {}),
  };
  const aws = settings.runtime?.aws ?? {};
  return {
    ...resolvedEnvironment(fn, deployment, template()),
    AWS_REGION: region,
    AWS_DEFAULT_REGION: region,
    AWS_EXECUTION_ENV: `AWS_Lambda_${fn.runtime}`,
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memorySize),
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${functionName(fn.logicalId)}`,
    AWS_LAMBDA_LOG_STREAM_NAME: 'local',
    LAMBDA_TASK_ROOT: bundle.dir,
    _HANDLER: fn.handler,
    TZ: ':UTC',
    LANG: 'en_US.UTF-8',
    PATH: '/usr/local/bin:/usr/bin:/bin',
    ...(aws.credentials && typeof aws.credentials !== 'function'
      ? {
          AWS_ACCESS_KEY_ID: aws.credentials.accessKeyId,
          AWS_SECRET_ACCESS_KEY: aws.credentials.secretAccessKey,
        }
      : {}),
    ...(aws.endpoint ? { AWS_ENDPOINT_URL: aws.endpoint } : {}),
    // Lambda's Invoke API for the clusters' API functions (cluster-api.ts), which alone dial the
    // simulated Kubernetes API: the SDK takes a service's own endpoint over AWS_ENDPOINT_URL.
    ...(clusterApiEndpoint ? { AWS_ENDPOINT_URL_LAMBDA: clusterApiEndpoint } : {}),
  };
}

let parsedTemplate: ReturnType<typeof readSamTemplate> | undefined;
const template = () => (parsedTemplate ??= readSamTemplate());

/**
 * The name the local runner gives a function (its ARNs end in `function:kopsless-<LogicalId>`);
 * a cluster's API function keeps the name its cluster stack gives it (`kopsless-kubeapi-...`).
 */
const functionName = (logicalId: string) =>
  isClusterApiFunction(logicalId) ? logicalId : `kopsless-${logicalId}`;

/** True for a cluster's API function, which a pool runs under the name its stack gives it. */
const isClusterApiFunction = (logicalId: string) => logicalId.startsWith('kopsless-kubeapi-');

/**
 * V8's heap limit in a function's process: Lambda's Node.js runtime sizes the heap from the
 * function's memory in the same way, leaving the rest for code, buffers and the runtime.
 */
export function heapLimitMb(memorySize: number): number {
  return Math.floor(memorySize * 0.9);
}

/** Resident memory of a process, from /proc (Linux); undefined where there is none. */
function residentBytes(pid: number): number | undefined {
  try {
    const line = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return line ? Number(line[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** How often the resident memory of a running invocation is compared with its MemorySize. */
const MEMORY_CHECK_MS = 100;
/** How much of a process's output a crash report keeps. */
const OUTPUT_TAIL_CHARS = 2000;

/** Lambda's words for how a process ended: `signal: killed`, `exit status 1`. */
function exitDescription(code: number | null, signal: NodeJS.Signals | null): string {
  const names: Partial<Record<NodeJS.Signals, string>> = {
    SIGKILL: 'killed',
    SIGABRT: 'aborted',
    SIGTERM: 'terminated',
    SIGSEGV: 'segmentation fault',
  };
  return signal ? `signal: ${names[signal] ?? signal}` : `exit status ${code}`;
}

/** One warm function process: Lambda's execution environment, reused while it lives. */
interface Instance {
  child: ChildProcess;
  /** Settles when the init phase (the bundle's import) has ended. */
  ready: Promise<void>;
  busy: boolean;
  /** Its memory went past MemorySize (or V8's heap limit): its end is an out-of-memory error. */
  outOfMemory: boolean;
  /** The last of its stdout and stderr. */
  output: string;
  closed: Promise<void>;
}

/**
 * Invocations and functions run from bundles in this process, for the CLI's summary line; the
 * clusters' API functions (from the layer) apart, as no Task invokes them.
 */
const tally = { invocations: 0, functions: new Set<string>(), layerInvocations: 0 };

/**
 * For a command's summary line: `; N invocations of F functions from their bundles` since the
 * last summary line (each command of `kopsless demo` prints its own), then `, M of the clusters'
 * API functions from their layer` when they ran, or nothing when no bundle ran. Reading it starts
 * the count afresh.
 */
export function bundleSummary(): string {
  if (tally.functions.size === 0 && tally.layerInvocations === 0) return '';
  const layer = tally.layerInvocations
    ? `, ${tally.layerInvocations} of the clusters' API functions from their layer`
    : '';
  const line = `; ${tally.invocations} invocations of ${tally.functions.size} functions from their bundles${layer}`;
  tally.invocations = 0;
  tally.functions.clear();
  tally.layerInvocations = 0;
  return line;
}

/** The warm function processes of one local run; stop() ends every one of them. */
export class BundlePool {
  private readonly instances = new Map<FunctionLogicalId, Instance[]>();
  private stopped = false;
  /** Invocations made, and processes started (cold starts), by this pool. */
  invocations = 0;
  processes = 0;

  constructor(
    private readonly functions: Record<FunctionLogicalId, TemplateFunction>,
    private readonly bundles: Record<FunctionLogicalId, BuiltBundle>,
    private readonly settings: LocalSettings,
    /** Where the functions invoke the clusters' API functions; stopped with the pool. */
    private readonly clusterApiHost?: LocalFunctionHost,
  ) {}

  /** A function's handler as a Task state calls it: an invocation of its bundle. */
  handler(logicalId: FunctionLogicalId): LocalHandler {
    return (event) => this.invoke(logicalId, event);
  }

  /**
   * One invocation: in a warm process of the function if one is free, else in a new one;
   * `qualifier`, the alias it was invoked through, ends the context's `invokedFunctionArn`.
   */
  async invoke(logicalId: FunctionLogicalId, event: unknown, qualifier?: string): Promise<unknown> {
    if (this.stopped) throw new Error(`${logicalId}: the run has ended; its functions are stopped`);
    const fn = this.functions[logicalId];
    const instance =
      (this.instances.get(logicalId) ?? []).find((i) => !i.busy) ?? this.start(logicalId);
    instance.busy = true;
    this.invocations++;
    if (isClusterApiFunction(logicalId)) tally.layerInvocations++;
    else {
      tally.invocations++;
      tally.functions.add(logicalId);
    }
    const requestId = randomUUID();
    const timeoutMs = fn.timeout * 1000;
    const began = Date.now();
    const { child } = instance;
    return new Promise((resolve, reject) => {
      let settled = false;
      const finish = (settle: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        clearInterval(memoryCheck);
        child.off('message', onMessage);
        child.off('close', onClose);
        settle();
      };
      const onMessage = (message: any) => {
        if (message?.type !== 'result' || message.id !== requestId) return;
        finish(() => {
          instance.busy = false;
          if (message.ok) resolve(message.result);
          else reject(namedError(message.errorType, message.errorMessage));
        });
      };
      const onClose = (code: number | null, signal: NodeJS.Signals | null) =>
        finish(() => reject(this.exitError(instance, requestId, code, signal)));
      const timer = setTimeout(
        () =>
          finish(() => {
            this.kill(instance);
            const error = namedError(
              LAMBDA_TIMEOUT_ERROR,
              `RequestId: ${requestId} Error: Task timed out after ${fn.timeout.toFixed(2)} seconds`,
            );
            // Reported once the process is gone, as Lambda reports it once the environment is.
            void instance.closed.then(() => reject(error));
          }),
        timeoutMs,
      );
      const memoryCheck = setInterval(() => {
        const rss = child.pid ? residentBytes(child.pid) : undefined;
        if (rss === undefined || rss <= fn.memorySize * 1024 * 1024) return;
        instance.outOfMemory = true;
        this.kill(instance);
      }, MEMORY_CHECK_MS);
      memoryCheck.unref();
      child.on('message', onMessage);
      child.on('close', onClose);
      instance.ready.then(
        () => {
          if (settled) return;
          child.send({
            type: 'invoke',
            id: requestId,
            requestId,
            event,
            // The init phase of a cold start counted against the Timeout too.
            timeoutMs: Math.max(0, timeoutMs - (Date.now() - began)),
            memorySize: fn.memorySize,
            functionArn: `arn:aws:lambda:${this.settings.config.region}:123456789012:function:${functionName(logicalId)}${qualifier ? `:${qualifier}` : ''}`,
          });
        },
        (error: Error) => finish(() => reject(error)),
      );
    });
  }

  /** Starts a function's process (a cold start): its bundle, its environment, its heap limit. */
  private start(logicalId: FunctionLogicalId): Instance {
    const fn = this.functions[logicalId];
    const bundle = this.bundles[logicalId];
    const child = fork(
      RUNTIME_SCRIPT,
      [bundle.module, bundle.exportName, functionName(logicalId)],
      {
        cwd: bundle.dir,
        env: lambdaEnvironment(fn, bundle, this.settings, this.clusterApiHost?.url),
        execArgv: [`--max-old-space-size=${heapLimitMb(fn.memorySize)}`],
        stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      },
    );
    this.processes++;
    const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
    const instance: Instance = {
      child,
      busy: false,
      outOfMemory: false,
      output: '',
      closed,
      ready: new Promise<void>((resolve, reject) => {
        const onMessage = (message: any) => {
          if (message?.type === 'ready') resolve();
          else if (message?.type === 'init-error')
            reject(namedError(message.errorType, message.errorMessage));
          else return;
          child.off('message', onMessage);
        };
        child.on('message', onMessage);
        child.once('close', (code, signal) =>
          reject(this.exitError(instance, 'init', code, signal)),
        );
      }),
    };
    // Awaited by each invocation; a failed init that nobody awaits is no unhandled rejection.
    instance.ready.catch(() => undefined);
    const keep = (chunk: Buffer) => {
      instance.output = (instance.output + chunk.toString()).slice(-OUTPUT_TAIL_CHARS);
      if (/JavaScript heap out of memory|Reached heap limit/.test(instance.output))
        instance.outOfMemory = true;
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    const list = this.instances.get(logicalId) ?? [];
    list.push(instance);
    this.instances.set(logicalId, list);
    void closed.then(() => {
      const left = (this.instances.get(logicalId) ?? []).filter((i) => i !== instance);
      this.instances.set(logicalId, left);
    });
    return instance;
  }

  /** The error an invocation gets when its process ends under it. */
  private exitError(
    instance: Instance,
    requestId: string,
    code: number | null,
    signal: NodeJS.Signals | null,
  ): Error {
    const how = `RequestId: ${requestId} Error: Runtime exited with error: ${exitDescription(code, signal)}`;
    if (instance.outOfMemory) return namedError(LAMBDA_OUT_OF_MEMORY_ERROR, how);
    const output = instance.output.trim();
    return namedError(LAMBDA_EXIT_ERROR, output ? `${how}\n(its last output) ${output}` : how);
  }

  private kill(instance: Instance): void {
    const pid = instance.child.pid;
    if (pid && instance.child.exitCode === null && instance.child.signalCode === null)
      process.kill(pid, 'SIGKILL');
  }

  /** Ends every process of the run (by PID) and waits until each has exited. */
  async stop(): Promise<void> {
    this.stopped = true;
    const all = [...this.instances.values()].flat();
    for (const instance of all) this.kill(instance);
    await Promise.all([...all.map((i) => i.closed), this.clusterApiHost?.close()]);
  }
}

/** The bundles of a local run; refused for a run in simulated time (a bundle's process reads the real clock). */
export async function startBundlePool(
  settings: LocalSettings,
  options: { simulatedClock?: boolean } = {},
): Promise<BundlePool> {
  if (options.simulatedClock)
    throw new BundleSettingsError(
      `${BUNDLES_VARIABLE}=1: a run in simulated time cannot invoke bundles (each runs on the real clock in its own process)`,
    );
  const bundles = await currentBundles();
  // The build's directory holds one directory per function and the layer's beside them.
  const layer = join(dirname(bundles.RollingUpdateFunction.dir), CLUSTER_API_LAYER_BUILD);
  const { startLayerFunctionHost } = await import('./cluster-api-bundle.js');
  return new BundlePool(
    templateFunctions(template()),
    bundles,
    settings,
    await startLayerFunctionHost(settings, layer),
  );
}
