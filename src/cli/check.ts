import { checkExitCode, checkManifest } from '../manifest/check.js';
import { parseOutputFormat, UsageError } from './format.js';
import { readManifestBytes } from './manifest-file.js';

/** `kopsless check -f FILE [-o json]`: offline validation. Exit 0 valid, 1 invalid, 3 unsupported. */
export function runCheck(
  options: { filename?: string; output?: string },
  io = { out: console.log, err: console.error },
): number {
  if (!options.filename)
    throw new UsageError('-f, --filename is required: the kOps manifest to check');
  const format = parseOutputFormat(options.output, ['table', 'json']);
  const check = checkManifest(readManifestBytes(options.filename));
  const code = checkExitCode(check);
  if (format === 'json') {
    io.out(
      JSON.stringify(
        {
          valid: check.valid,
          cluster: check.cluster,
          instanceGroups: check.instanceGroups,
          errors: check.errors,
          unsupported: check.unsupported,
        },
        null,
        2,
      ),
    );
    return code;
  }
  for (const e of check.errors) io.err(`${e.path}: ${e.message}`);
  for (const u of check.unsupported) io.err(`${u.path}: ${u.message}`);
  // Accepted-but-ignored settings repeat per etcd member; one note per reason is enough.
  const reasons = new Map<string, string[]>();
  for (const i of check.ignored)
    reasons.set(i.message, [...(reasons.get(i.message) ?? []), i.path]);
  for (const [reason, paths] of reasons)
    io.err(
      `note: ${paths.length} setting(s) ${reason}: ${paths.slice(0, 3).join(', ')}${paths.length > 3 ? ', ...' : ''}`,
    );
  const name = check.cluster ?? '(unnamed)';
  if (code === 0)
    io.out(`cluster "${name}" is valid (${check.instanceGroups.length} instance groups)`);
  else if (code === 3)
    io.out(
      `cluster "${name}" is valid for kOps but uses ${check.unsupported.length} setting(s) kopsless does not build`,
    );
  else io.out(`cluster "${name}" is invalid: ${check.errors.length} error(s)`);
  return code;
}
