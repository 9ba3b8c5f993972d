# Shared by the scripts in this folder: paths and small output helpers.
# Sourced, not run.

CAIRN_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export CAIRN_ROOT
# The npm packages put anvil, forge, cast and arlocal here.
export PATH="$CAIRN_ROOT/node_modules/.bin:$PATH"

say() { printf '%s\n' "$*"; }
warn() { printf '%s\n' "$*" >&2; }
die() {
    printf 'error: %s\n' "$*" >&2
    exit 1
}
