// `kopsless check` over kOps's own AWS manifests (tests/integration of a kOps checkout): how many
// exit 0, 1 and 3, and which settings keep the rest from exit 0, counted per manifest. Usage:
//   node --import tsx scripts/kops-manifests.ts /path/to/kops [--files] [--lift REGEX]...
// --files prints every manifest's exit code and blockers; each --lift REGEX (matched against the
// blocker paths in the table) adds a line saying how many would exit 0 were those settings built.
import { checkDirectory, exitZeroIfLifted, tally } from './kops-manifests/tally.js';

function main(argv: string[]): number {
  const dir = argv.find((a, i) => !a.startsWith('--') && argv[i - 1] !== '--lift');
  if (!dir) {
    process.stderr.write(
      'usage: scripts/kops-manifests.ts KOPS_CHECKOUT [--files] [--lift REGEX]...\n',
    );
    return 2;
  }
  const lifted = argv.flatMap((a, i) => (argv[i - 1] === '--lift' ? [new RegExp(a)] : []));
  const verdicts = checkDirectory(dir);
  const result = tally(verdicts);
  const out = (line: string) => process.stdout.write(`${line}\n`);
  const count = (code: number) => result.byExitCode[code] ?? 0;
  out(
    `${result.total} AWS manifests: exit 0 ${count(0)}, exit 3 (not supported) ${count(3)}, exit 1 (invalid) ${count(1)}`,
  );
  out('');
  const width = Math.max(7, ...result.blockers.map((r) => r.blocker.length));
  out(`${'BLOCKER'.padEnd(width)}  MANIFESTS  ALONE`);
  for (const row of result.blockers)
    out(
      `${row.blocker.padEnd(width)}  ${String(row.manifests).padStart(9)}  ${String(row.alone).padStart(5)}`,
    );
  if (lifted.length > 0) {
    out('');
    out(
      `exit 0 if ${lifted.map((r) => r.source).join(', ')} were built: ${exitZeroIfLifted(verdicts, lifted)}`,
    );
  }
  if (argv.includes('--files')) {
    out('');
    for (const v of verdicts)
      out(`${v.exitCode}  ${v.file}${v.blockers.length ? `  ${v.blockers.join(' ')}` : ''}`);
  }
  for (const v of verdicts.filter((x) => x.exitCode === 1))
    for (const e of v.errors) process.stderr.write(`${v.file}: ${e}\n`);
  return 0;
}

process.exitCode = main(process.argv.slice(2));
