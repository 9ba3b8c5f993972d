#!/usr/bin/env bash
# The README's "Try it" section, run as written against a scripts/dev of
# its own (fresh data directory, ports of its own), so the docs cannot
# drift from what the system does. Fails on the first command that fails,
# or when the section takes more than 5 minutes.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
export PATH="$root/node_modules/.bin:$PATH"

echo "walkthrough: building cairn"
(cd "$root" && cargo build --quiet --locked -p cairn-service --bin cairn -p cairn-test-utils --example lying_node)

work=$(mktemp -d)
port=$((20000 + RANDOM % 20000))
export CAIRN_DEV_DIR=$work/dev CAIRN_DEV_ANVIL_PORT=$port CAIRN_DEV_METRICS_PORT=$((port + 1))
export CAIRN_DEV_SERVICE_PORT=$((port + 2)) CAIRN_DEV_ARWEAVE_PORT=$((port + 3))
export CAIRN_DEV_SIGNER_PORT=$((port + 4)) CAIRN_DEV_PROVIDER_PORT=$((port + 7))
log=$work/dev.log
cleanup() {
    # The section runs in a process group of its own: whatever it left
    # running goes with it.
    if [[ -n ${walk_pid:-} ]]; then kill -9 -- "-$walk_pid" 2>/dev/null || true; fi
    if [[ -n ${dev_pid:-} ]]; then
        kill -INT -- "-$dev_pid" 2>/dev/null || true
        wait "$dev_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT
fail() {
    echo "walkthrough: FAIL: $*" >&2
    sed 's/^/  dev> /' "$log" >&2 || true
    sed 's/^/  walk> /' "$work/walk.log" >&2 || true
    exit 1
}

python3 -c '
import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.setsid()
os.execv(sys.argv[1], sys.argv[1:])' "$root/scripts/dev" >"$log" 2>&1 </dev/null &
dev_pid=$!
for _ in $(seq 1 1800); do
    grep -q 'dev: ready' "$log" && break
    kill -0 "$dev_pid" 2>/dev/null || fail "scripts/dev exited before it was ready"
    sleep 0.1
done
grep -q 'dev: ready' "$log" || fail "scripts/dev was not ready within 180 s"

# The first ```sh block after the "## Try it" heading, as it stands.
python3 - "$root/README.md" >"$work/walk.sh" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
section = text.split("\n## Try it\n", 1)[1].split("\n## ", 1)[0]
block = re.search(r"```sh\n(.*?)```", section, re.S)
if not block:
    sys.exit("README.md: no ```sh block under ## Try it")
print(block.group(1))
PY
[[ -s $work/walk.sh ]] || fail "README.md has no Try it commands"
echo "walkthrough: running $(grep -cv '^\s*\(#\|$\)' "$work/walk.sh") lines of README.md's Try it section"
(cd "$root" && exec setsid timeout 300 bash -euo pipefail -x "$work/walk.sh") >"$work/walk.log" 2>&1 &
walk_pid=$!
wait "$walk_pid" || fail "the Try it section failed (exit $?)"
grep -q "^verified: batch" "$work/walk.log" || fail "cairn verify-batch printed no verdict"
grep -q '^slashed ' "$work/walk.log" || fail "the slash status shows no slash"
echo "walkthrough: passed"
