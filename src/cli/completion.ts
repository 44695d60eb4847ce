import type { Command } from 'commander';
import { UsageError } from './usage-error.js';

/** Every command path (aliases included) and the words that may follow it. */
function commandWords(command: Command, path: string, out: Map<string, string[]>): void {
  const words = [
    ...command.commands.flatMap((c) => [c.name(), ...c.aliases()]),
    ...command.options.flatMap((o) => [o.long, o.short].filter((f): f is string => !!f)),
  ];
  out.set(path, words);
  for (const sub of command.commands)
    for (const name of [sub.name(), ...sub.aliases()]) commandWords(sub, `${path} ${name}`, out);
}

/** A bash completion function for the program, made from its commands and options. */
function bashScript(program: Command): string {
  const paths = new Map<string, string[]>();
  commandWords(program, program.name(), paths);
  const fn = `_${program.name().replace(/\W/g, '_')}_complete`;
  const quoted = (s: string) => `"${s}"`;
  return [
    `# ${program.name()} completion for bash: source <(${program.name()} completion bash)`,
    `${fn}() {`,
    `  local cur="\${COMP_WORDS[COMP_CWORD]}" path=${quoted(program.name())} i`,
    '  for ((i = 1; i < COMP_CWORD; i++)); do',
    '    case "$path ${COMP_WORDS[i]}" in',
    `      ${[...paths.keys()]
      .filter((p) => p !== program.name())
      .map(quoted)
      .join('|')}) path="$path \${COMP_WORDS[i]}" ;;`,
    '    esac',
    '  done',
    '  local words=""',
    '  case "$path" in',
    ...[...paths].map(
      ([path, words]) => `    ${quoted(path)}) words=${quoted(words.join(' '))} ;;`,
    ),
    '  esac',
    '  COMPREPLY=($(compgen -W "$words" -- "$cur"))',
    '}',
    `complete -o default -F ${fn} ${program.name()}`,
  ].join('\n');
}

/** `kopsless completion bash|zsh`: the script to source; zsh runs the bash one through bashcompinit. */
export function completionScript(program: Command, shell: string): string {
  if (shell === 'bash') return bashScript(program);
  if (shell === 'zsh')
    return [
      `# ${program.name()} completion for zsh: source <(${program.name()} completion zsh)`,
      'autoload -U +X compinit && compinit',
      'autoload -U +X bashcompinit && bashcompinit',
      bashScript(program),
    ].join('\n');
  throw new UsageError(`unknown shell "${shell}": use bash or zsh`);
}
