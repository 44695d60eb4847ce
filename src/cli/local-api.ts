import { join } from 'node:path';
import { stateMachineArn } from '../aws/sfn.js';
import {
  deployedStateMachineName,
  STATE_MACHINES,
  type StateMachineName,
} from '../functions-registry.js';
import { createApiHandler } from '../handlers/api.js';
import { localExecutions } from '../local/api/executions.js';
import { routesFromTemplate } from '../local/api/gateway-event.js';
import { startLocalApi } from '../local/api/server.js';
import { backendEnv } from '../local/moto/backend.js';
import { ACCOUNT } from '../local/sfn/asl-definition.js';
import type { LocalHandler } from '../local/sfn/handlers.js';
import { type CliContext, localSettings } from './context.js';
import { UsageError } from './format.js';

type Io = { out: (line: string) => void; err: (line: string) => void };

const ROOT = join(import.meta.dirname, '..', '..');

/** `--port N`: 0 (any free port) to 65535. */
function parsePort(text: string | undefined): number {
  if (text === undefined) return 0;
  const port = Number(text);
  if (!/^\d+$/.test(text) || port > 65535)
    throw new UsageError(`--port ${text}: expected a port number from 0 to 65535`);
  return port;
}

/**
 * `kopsless local api [--port N]`: the REST API on 127.0.0.1 through the API function's own
 * handler, SigV4-checked against the local backend's credentials; the executions it starts run
 * here in the background. Serves until interrupted.
 */
export async function runLocalApi(
  options: { port?: string },
  ctx: CliContext,
  io: Io,
  stop: Promise<unknown> = new Promise((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  }),
): Promise<number> {
  const port = parsePort(options.port);
  const machineArns = Object.fromEntries(
    (Object.values(STATE_MACHINES) as StateMachineName[]).map((name) => [
      name,
      stateMachineArn(ctx.region, ACCOUNT, deployedStateMachineName(name)),
    ]),
  ) as Record<StateMachineName, string>;
  const executions = localExecutions(
    (name, run) => ctx.run(name, run),
    machineArns,
    (line) => io.err(line),
  );
  const settings = localSettings(ctx.backend);
  const handler = createApiHandler(
    { stateBucket: ctx.stateBucket, stateMachines: machineArns },
    settings.runtime,
    { executions },
  ) as unknown as LocalHandler;
  const env = backendEnv(ctx.backend);
  const api = await startLocalApi({
    port,
    routes: routesFromTemplate(join(ROOT, 'template.yaml')),
    handler,
    credentials: {
      accessKeyId: env.AWS_ACCESS_KEY_ID ?? '',
      secretAccessKey: env.AWS_SECRET_ACCESS_KEY ?? '',
    },
    region: ctx.region,
    accountId: ACCOUNT,
    log: (line) => io.err(line),
  }).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'EADDRINUSE') throw new UsageError(`--port ${port}: already in use`);
    throw error;
  });
  io.out(`kopsless API at ${api.url} (IAM: SigV4 for execute-api in ${ctx.region})`);
  io.out(
    `sign with the local backend's credentials (eval "$(kopsless local env)"), e.g.: curl --aws-sigv4 "aws:amz:${ctx.region}:execute-api" --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" ${api.url}/clusters`,
  );
  await stop;
  await api.close();
  io.err(
    'stopped; executions still running end with this process (their lock is taken over by the next command)',
  );
  return 0;
}
