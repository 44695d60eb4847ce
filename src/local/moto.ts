import { spawn } from 'node:child_process';
import { openSync, closeSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { LOCAL_IMAGES } from './images.js';

/**
 * moto_server, the AWS emulator of the local backend: started on 127.0.0.1 only, stopped by PID.
 */

export interface MotoProcess {
  pid: number;
  port: number;
  endpoint: string;
}

/** Asks the kernel for a free loopback port. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** True when something answers HTTP on the endpoint. */
export async function isAnswering(endpoint: string): Promise<boolean> {
  try {
    const response = await fetch(`${endpoint}/moto-api/`, { signal: AbortSignal.timeout(1000) });
    return response.ok;
  } catch {
    return false;
  }
}

/**
 * Starts moto_server detached (it outlives the CLI invocation that started it, which is how
 * the local backend keeps its state between commands) and waits until it answers.
 */
export async function startMoto(options: { dir: string; port?: number; detached?: boolean }): Promise<MotoProcess> {
  const port = options.port ?? (await freePort());
  const amisPath = join(options.dir, 'amis.json');
  // moto knows a few 2017 AMIs only; give it the images kOps manifests name, so lookups by owner and name work.
  writeFileSync(amisPath, JSON.stringify(LOCAL_IMAGES, null, 2));
  const log = openSync(join(options.dir, 'moto.log'), 'a');
  // moto_server through our wrapper (moto_server.py: one moto bug fixed); python3 must import moto.
  const wrapper = join(dirname(fileURLToPath(import.meta.url)), 'moto_server.py');
  const child = spawn('python3', [wrapper, '-H', '127.0.0.1', '-p', String(port)], {
    detached: options.detached ?? true,
    stdio: ['ignore', log, log],
    env: { ...process.env, MOTO_AMIS_PATH: amisPath },
  });
  closeSync(log);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const spawnFailed = new Promise<Error>((resolve) => child.once('error', resolve));
  if (options.detached ?? true) child.unref();
  const endpoint = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const early = await Promise.race([exited.then((c) => `moto_server exited with code ${c}`), spawnFailed.then((e) => `moto_server could not start: ${e.message}`), sleep(200).then(() => undefined)]);
    if (early) throw new Error(`${early} (see ${join(options.dir, 'moto.log')}); does python3 import moto (pip install 'moto[server]')?`);
    if (await isAnswering(endpoint)) return { pid: child.pid ?? 0, port, endpoint };
  }
  stopMoto(child.pid ?? 0);
  throw new Error(`moto_server did not answer on ${endpoint} within 30 s`);
}

/** Stops moto by PID (its whole process group: moto_server may run through a shim). */
export function stopMoto(pid: number): void {
  if (!pid) return;
  for (const target of [-pid, pid]) {
    try {
      process.kill(target, 'SIGTERM');
    } catch {
      // already gone
    }
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
