# Test harness (see script-sandbox.ts): sources ./user-data.sh with every command bash is about to
# run checked first by a DEBUG trap; a refused command is recorded and never runs.
blocked() {
  printf '%s\n' "${BASH_COMMAND}" >>"${SANDBOX_BLOCKED}"
  exit 97
}

guard() {
  local command="${BASH_COMMAND}" word rest redirects
  local assignment='^[A-Za-z_][A-Za-z0-9_]*[+]?='
  local plain_assignment='^[A-Za-z_][A-Za-z0-9_]*[+]?=[-A-Za-z0-9_.,:/@%+=]*$'
  if [[ "${command}" == '. ./user-data.sh' ]]; then return 0; fi
  word="${command%%[[:space:]]*}"
  rest="${command#"${word}"}"
  # An assignment runs nothing itself (a command substitution in it is checked when it runs);
  # after a plain one (no quotes, no substitution), look at the command it prefixes.
  if [[ "${word}" =~ ${assignment} && ! "${word}" =~ ${plain_assignment} ]]; then word=""; fi
  while [[ "${word}" =~ ${assignment} ]]; do
    rest="${rest#"${rest%%[![:space:]]*}"}"
    if [[ -z "${rest}" ]]; then
      word=""
      break
    fi
    word="${rest%%[[:space:]]*}"
    rest="${rest#"${word}"}"
  done
  case "${word}" in
    */* | exec | eval | source | . | enable | builtin | cd | pushd | popd | trap | shopt | ulimit | umask) blocked ;;
    command) if [[ "${command}" != 'command -v '* ]]; then blocked; fi ;;
  esac
  # bash shows a redirection as "> /dev/null"; that one absolute target is harmless.
  redirects="${command//> \/dev\/null/}"
  redirects="${redirects//>\/dev\/null/}"
  if [[ "${redirects}" =~ \>[\>|]?[[:space:]]*/ ]]; then blocked; fi
  return 0
}

shopt -s extdebug
trap guard DEBUG
. ./user-data.sh
