# Test stub (see script-sandbox.ts): records this call's argv and standard input with builtins
# only, then prints a placeholder for the script to carry on with.
record="${STUB_RECORDS:?}/${EPOCHREALTIME/./}-$$"
printf '%s\0' "${0##*/}" "$@" >"${record}.argv"
stdin=""
IFS= read -r -d '' stdin || true
printf '%s' "${stdin}" >"${record}.stdin"
printf '%s-output\n' "${0##*/}"
