import { toManifestYaml } from '../manifest/yaml.js';

/** Columns separated by at least two spaces, as kOps's tables read. */
export function table(headers: string[], rows: Array<Array<string | number>>): string {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells
    .map((r) =>
      r
        .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]! + 2)))
        .join('')
        .trimEnd(),
    )
    .join('\n');
}

export type OutputFormat = 'table' | 'json' | 'yaml';

export function parseOutputFormat(
  value: string | undefined,
  allowed: OutputFormat[] = ['table', 'json', 'yaml'],
): OutputFormat {
  const format = (value ?? 'table') as OutputFormat;
  if (!allowed.includes(format))
    throw new UsageError(
      `unknown output format "${value}": use ${allowed.filter((f) => f !== 'table').join(' or ')}`,
    );
  return format;
}

export const toYaml = toManifestYaml;

import { UsageError } from './usage-error.js';

export { UsageError };

export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}
