import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A stand-in python3 (a shell script) that cannot import moto; used by the CLI tests too. */
export function writeFakePython(dir: string): string {
  const path = join(dir, 'python3');
  writeFileSync(
    path,
    [
      '#!/bin/sh',
      '# A python3 without moto: "-m venv DIR" makes DIR/bin/python (this script again); pip cannot reach an index.',
      'if [ "$1" = "-m" ] && [ "$2" = "venv" ]; then mkdir -p "$3/bin" && cp "$0" "$3/bin/python" && exit 0; fi',
      'if [ "$1" = "-m" ] && [ "$2" = "pip" ]; then echo "ERROR: No matching distribution found for moto[server]" >&2; exit 1; fi',
      'echo "ModuleNotFoundError: No module named \'moto\'" >&2',
      'exit 1',
      '',
    ].join('\n'),
  );
  chmodSync(path, 0o755);
  return path;
}
