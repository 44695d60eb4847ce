// The part of Lambda's Node.js runtime a bundle needs when the local runner invokes it: in a
// process of its own, with only the function's environment, it imports the bundle once (the
// init phase), then runs one invocation at a time as the parent sends them over IPC, each with
// a context whose remaining time counts down to the function's Timeout. Plain JavaScript:
// the process has no TypeScript loader, as a Lambda has none.
import { basename } from 'node:path';
import { pathToFileURL } from 'node:url';

const [modulePath, exportName, functionName] = process.argv.slice(2);

/** An error as Lambda reports it: its type and message, nothing else crosses. */
function reported(error) {
  return {
    errorType: (error && typeof error.name === 'string' && error.name) || 'Error',
    errorMessage: error && typeof error.message === 'string' ? error.message : String(error),
  };
}

/** The init phase: import the bundle; its module scope builds the handler from the environment. */
async function init() {
  try {
    const module = await import(pathToFileURL(modulePath).href);
    const handler = module[exportName];
    if (typeof handler !== 'function')
      return {
        error: {
          errorType: 'Runtime.HandlerNotFound',
          errorMessage: `${basename(modulePath).replace(/\.[cm]?js$/, '')}.${exportName} is undefined or not exported`,
        },
      };
    return { handler };
  } catch (error) {
    if (error && error.code === 'ERR_MODULE_NOT_FOUND')
      return { error: { errorType: 'Runtime.ImportModuleError', errorMessage: error.message } };
    if (error instanceof SyntaxError)
      return { error: { errorType: 'Runtime.UserCodeSyntaxError', errorMessage: error.message } };
    return { error: reported(error) };
  }
}

const loaded = await init();
if (loaded.error) {
  // Lambda reports a failed init to the invocation that waited for it and starts afresh next time.
  process.send({ type: 'init-error', ...loaded.error }, () => process.exit(1));
} else {
  process.send({ type: 'ready' });
  process.on('message', async (message) => {
    if (message?.type !== 'invoke') return;
    const deadline = Date.now() + message.timeoutMs;
    const context = {
      functionName,
      functionVersion: '$LATEST',
      invokedFunctionArn: message.functionArn,
      memoryLimitInMB: String(message.memorySize),
      awsRequestId: message.requestId,
      logGroupName: `/aws/lambda/${functionName}`,
      logStreamName: 'local',
      callbackWaitsForEmptyEventLoop: true,
      getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
      done: () => undefined,
      fail: () => undefined,
      succeed: () => undefined,
    };
    try {
      const result = await loaded.handler(message.event, context);
      process.send({ type: 'result', id: message.id, ok: true, result: result ?? null });
    } catch (error) {
      process.send({ type: 'result', id: message.id, ok: false, ...reported(error) });
    }
  });
  // The runner is gone (ended, killed): a Lambda environment does not outlive its service.
  process.on('disconnect', () => process.exit(0));
}
