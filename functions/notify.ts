import { createNotifyHandler } from '../src/handlers/notify.js';
import { readNotifyConfig } from '../src/notify-config.js';

/** The Lambda entry: the handler built once, at cold start, from the function's environment (see src/handlers/notify.ts). */
export const handler = createNotifyHandler(readNotifyConfig(process.env));
