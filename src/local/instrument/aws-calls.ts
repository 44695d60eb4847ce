import { AsyncLocalStorage } from 'node:async_hooks';
import { S3Client } from '@aws-sdk/client-s3';
import { CLUSTER_API_KIND } from '../../planning/names.js';

/**
 * Sees every AWS call a handler makes on the local backend, as SDK middleware: the handlers build
 * their clients as on AWS (the same factories, given only the backend's endpoint and credentials)
 * and stay unchanged; only the local backend installs this. Calls are attributed to the Lambda function whose invocation they happen in (see
 * `inFunction`), so `npm run check:iam` can evaluate each against that function's role.
 */

/** One AWS call, as the handler asked for it (before serialization). */
export interface AwsCall {
  /** The function's logical ID in template.yaml. */
  functionId: string;
  /** The SDK's service ID (`EC2`, `Auto Scaling`, `S3`, ...). */
  service: string;
  /** The command's name without `Command` (`DescribeInstances`): the API operation. */
  operation: string;
  input: Record<string, unknown>;
  region: string;
  /**
   * The access key the call is signed with: the function's own, or that of a session it assumed
   * for one cluster (check:iam matches it with the AssumeRole call that issued it).
   */
  accessKeyId?: string;
}

/** Awaited before the call goes out (it may look at the world as the call finds it) and after it. */
export interface AwsCallObserver {
  before?(call: AwsCall): Promise<void> | void;
  /** `outcome.output` is what the SDK's middleware stack returns: `{ output, response }`. */
  after?(call: AwsCall, outcome: { output?: unknown; error?: unknown }): Promise<void> | void;
  /**
   * The output the handler gets instead of the service's (`output` is the service's, the command's
   * result; undefined keeps it): how the local backend makes moto's at-once answers follow AWS's
   * durations on a simulated clock. Called after every observer's `after`.
   */
  answer?(call: AwsCall, output: unknown): unknown;
}

const scope = new AsyncLocalStorage<{ functionId: string }>();
const observers = new Set<AwsCallObserver>();
const instrumented = new WeakSet<object>();

/** Runs `fn` as an invocation of the function `functionId`: its AWS calls are attributed to it. */
export function inFunction<T>(functionId: string, fn: () => Promise<T>): Promise<T> {
  return scope.run({ functionId }, fn);
}

/** Runs `fn` outside any function (an observer's own look-ups are nobody's calls). */
export function outsideFunctions<T>(fn: () => Promise<T>): Promise<T> {
  return scope.exit(fn);
}

type Stack = {
  add: (middleware: unknown, options: { step: string; name: string; priority?: string }) => void;
};
type SdkClient = {
  middlewareStack: Stack;
  config: {
    serviceId?: string;
    region?: () => Promise<string> | string;
    credentials?: () => Promise<{ accessKeyId?: string }>;
  };
};

function instrument(client: SdkClient): void {
  if (instrumented.has(client)) return;
  instrumented.add(client);
  const middleware =
    (
      next: (args: { input: Record<string, unknown> }) => Promise<unknown>,
      context: { commandName?: string },
    ) =>
    async (args: { input: Record<string, unknown> }) => {
      const store = scope.getStore();
      if (!store || observers.size === 0) return next(args);
      const region =
        typeof client.config.region === 'function'
          ? await client.config.region()
          : String(client.config.region ?? '');
      // The SDK resolves (and caches) the same credentials itself when it signs the call.
      const accessKeyId =
        typeof client.config.credentials === 'function'
          ? (await client.config.credentials()).accessKeyId
          : undefined;
      const call: AwsCall = {
        functionId: store.functionId,
        service: client.config.serviceId ?? 'unknown',
        operation: (context.commandName ?? 'Unknown').replace(/Command$/, ''),
        input: args.input,
        region,
        ...(accessKeyId ? { accessKeyId } : {}),
      };
      for (const observer of observers) await outsideFunctions(async () => observer.before?.(call));
      try {
        const result = (await next(args)) as { output?: unknown };
        for (const observer of observers)
          await outsideFunctions(async () => observer.after?.(call, { output: result }));
        // The middleware stack passes `{ output, response }`: an answer replaces the output.
        let output = result.output;
        for (const observer of observers) output = observer.answer?.(call, output) ?? output;
        return output === result.output ? result : { ...result, output };
      } catch (error) {
        for (const observer of observers)
          await outsideFunctions(async () => observer.after?.(call, { error }));
        throw error;
      }
    };
  client.middlewareStack.add(middleware, {
    step: 'initialize',
    name: 'kopslessAwsCalls',
    priority: 'high',
  });
}

let installed = false;

/**
 * Installs the middleware on every SDK client of this process (on its first call: all clients share
 * one base class) and starts telling `observer` about the calls made inside `inFunction`. Returns
 * the function that stops telling it.
 */
export function observeAwsCalls(observer: AwsCallObserver): () => void {
  if (!installed) {
    installed = true;
    const base = Object.getPrototypeOf(S3Client.prototype) as {
      send: (this: SdkClient, ...args: unknown[]) => unknown;
    };
    const send = base.send;
    base.send = function patchedSend(this: SdkClient, ...args: unknown[]) {
      instrument(this);
      return send.apply(this, args);
    };
  }
  observers.add(observer);
  return () => observers.delete(observer);
}

/**
 * Whether a call is a Kubernetes request in its Lambda envelope: an Invoke of a cluster's API
 * function (`kopsless-kubeapi-*`), which carries one request to the cluster's API from inside its
 * VPC. Counted apart from the AWS calls a stage makes for itself: the same requests went straight
 * to the API server before there was such a function.
 */
export function carriesKubernetesRequest(call: Pick<AwsCall, 'service' | 'operation' | 'input'>) {
  return (
    call.service === 'Lambda' &&
    call.operation === 'Invoke' &&
    String(call.input.FunctionName ?? '').startsWith(`kopsless-${CLUSTER_API_KIND}-`)
  );
}
