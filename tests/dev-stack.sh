#!/usr/bin/env bash
# scripts/dev must start its services on loopback with the contracts
# deployed, arlocal for receipts, the threshold signer parties, three demo
# providers behind their sidecars (one lying) and the indexer following the
# contracts; the lying provider must be slashed with no manual step; a
# second start reuses the chain, --fresh starts over; and every process
# must stop when interrupted, as Ctrl-C does.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
export PATH="$root/node_modules/.bin:$PATH"

# Build cairn before any clock starts: the readiness wait below measures
# scripts/dev, not a compile that takes minutes on a busy two-core machine.
echo "dev-stack: building cairn"
(cd "$root" && cargo build --quiet --locked -p cairn-service --bin cairn -p cairn-test-utils --example lying_node)

work=$(mktemp -d)
port=$((20000 + RANDOM % 20000))
metrics_port=$((port + 1))
service_port=$((port + 2))
arweave_port=$((port + 3))
signer_port=$((port + 4))
provider_port=$((port + 7))
log=$work/dev.log
# On a failure the stack is still up: stop everything scripts/dev started
# (its process group, or the children it leaves behind) before the
# directory they write to goes.
cleanup() {
    if [[ -n ${dev_pid:-} ]]; then
        kill -TERM -- "-$dev_pid" "$dev_pid" 2>/dev/null || true
        for _ in $(seq 1 50); do
            kill -0 "$dev_pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -9 -- "-$dev_pid" "$dev_pid" 2>/dev/null || true
    fi
    pkill -f -- "$work" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
fail() {
    echo "dev-stack: FAIL: $*" >&2
    sed 's/^/  dev> /' "$log" >&2 || true
    exit 1
}

# Starts scripts/dev, waits for it, stops it with the given signal sent to
# the given target, and checks that nothing it started is left.
#   group: the whole process group, as a terminal's Ctrl-C does;
#   script: scripts/dev alone, as `kill` from another shell does.
run_case() {
    local signal=$1 target=$2 launch=${3:-terminal} args=${4:-}
    : >"$log"
    # A job started with & has SIGINT ignored, which no trap can undo, and a
    # run under nohup has SIGHUP ignored too; the launcher restores both
    # defaults and gives scripts/dev its own process group, as a terminal
    # would.
    export CAIRN_DEV_DIR=$work CAIRN_DEV_ANVIL_PORT=$port CAIRN_DEV_METRICS_PORT=$metrics_port CAIRN_DEV_SERVICE_PORT=$service_port CAIRN_DEV_ARWEAVE_PORT=$arweave_port
    export CAIRN_DEV_SIGNER_PORT=$signer_port CAIRN_DEV_PROVIDER_PORT=$provider_port
    if [[ $launch == background ]]; then
        # A plain background job of a script: SIGINT arrives ignored.
        "$root/scripts/dev" $args >"$log" 2>&1 </dev/null &
    else
        python3 -c '
import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
signal.signal(signal.SIGHUP, signal.SIG_DFL)
os.setsid()
os.execv(sys.argv[1], sys.argv[1:])' "$root/scripts/dev" $args >"$log" 2>&1 </dev/null &
    fi
    dev_pid=$!

    # Up to three minutes (the first start runs the keygen); cairn is already built.
    for _ in $(seq 1 1800); do
        grep -q 'dev: ready' "$log" && break
        kill -0 "$dev_pid" 2>/dev/null || fail "scripts/dev exited before it was ready"
        sleep 0.1
    done
    grep -q 'dev: ready' "$log" || fail "scripts/dev was not ready within 180 s"

    [[ $(cast chain-id --rpc-url "http://127.0.0.1:$port") == 31337 ]] || fail "anvil does not answer with chain id 31337"
    [[ -s $work/deployment.json ]] || fail "scripts/dev wrote no deployment file"
    local registry
    registry=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["registry"])' "$work/deployment.json")
    [[ $(cast code --rpc-url "http://127.0.0.1:$port" "$registry") != 0x ]] || fail "no Registry code at $registry"
    local anvil_pid
    anvil_pid=$(sed -n 's/.*anvil .* pid \([0-9]*\) .*/\1/p' "$log")
    [[ -n $anvil_pid ]] || fail "scripts/dev did not report anvil's pid"
    local indexer_pid
    indexer_pid=$(sed -n 's/.*indexer .* pid \([0-9]*\) .*/\1/p' "$log")
    [[ -n $indexer_pid ]] || fail "scripts/dev did not report the indexer's pid"
    kill -0 "$indexer_pid" 2>/dev/null || fail "the indexer is not running"
    local metrics=""
    for _ in $(seq 1 50); do
        metrics=$(python3 -c 'import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=2).read().decode())' "http://127.0.0.1:$metrics_port/metrics" 2>/dev/null) && break
        sleep 0.1
    done
    grep -q cairn_indexer_blocks_total <<<"$metrics" || fail "the indexer serves no metrics on port $metrics_port"
    local service_pid ready
    service_pid=$(sed -n 's/.*service .* pid \([0-9]*\) .*/\1/p' "$log")
    [[ -n $service_pid ]] || fail "scripts/dev did not report the service's pid"
    ready=$(python3 -c 'import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())' "http://127.0.0.1:$service_port/readyz" 2>/dev/null) ||
        fail "the service is not ready on port $service_port"
    grep -q '"ready"' <<<"$ready" || fail "the service's /readyz says: $ready"
    grep -q 'batcher on' "$work/service.log" || fail "the service does not run the batcher"
    grep -q $'\x1b\\[' "$work/service.log" "$work/indexer.log" && fail "log files carry ANSI colour codes"
    grep -q "receipts go to http://127.0.0.1:$arweave_port/" "$work/service.log" ||
        fail "the service does not upload receipts to the local arlocal"
    local arweave_pid
    arweave_pid=$(sed -n 's/.*arweave .* pid \([0-9]*\) .*/\1/p' "$log")
    [[ -n $arweave_pid ]] || fail "scripts/dev did not report arlocal's pid"
    python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=5)' "http://127.0.0.1:$arweave_port/info" ||
        fail "arlocal does not answer on port $arweave_port"

    local extra_pids
    extra_pids=$(sed -n 's/.*\(provider [0-9]\|signer  \).* pids\{0,1\} \([0-9 ]*[0-9]\)  log.*/\2/p' "$log" | tr '\n' ' ')
    [[ $(wc -w <<<"$extra_pids") == 6 ]] || fail "scripts/dev did not report three providers and three signer parties: $extra_pids"
    for pid in $extra_pids; do kill -0 "$pid" 2>/dev/null || fail "process $pid (a provider or signer party) is not running"; done
    local blocks
    blocks=$(cast block-number --rpc-url "http://127.0.0.1:$port")
    if [[ $args == *--fresh* ]]; then
        grep -q 'forgetting the chain' "$log" || fail "scripts/dev --fresh did not say it started over"
        ((blocks < last_blocks)) || fail "after --fresh the chain is at block $blocks, not below the earlier $last_blocks"
    elif [[ -n ${last_blocks:-} ]]; then
        grep -q 'reusing the chain' "$log" || fail "a second start did not reuse the data directory"
        ((blocks >= last_blocks)) || fail "the reused chain is at block $blocks, below the earlier $last_blocks"
    fi

    if [[ $target == group && $signal == INT ]]; then
        the_liar_is_slashed
        second_shell_and_second_start "$service_pid" "$indexer_pid"
    fi
    last_blocks=$(cast block-number --rpc-url "http://127.0.0.1:$port")

    if [[ $target == group ]]; then kill "-$signal" -- "-$dev_pid"; else kill "-$signal" "$dev_pid"; fi
    for _ in $(seq 1 100); do
        kill -0 "$dev_pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$dev_pid" 2>/dev/null && fail "scripts/dev still runs 10 s after SIG$signal to the $target"
    kill -0 "$anvil_pid" 2>/dev/null && fail "anvil (pid $anvil_pid) still runs after SIG$signal to the $target"
    kill -0 "$indexer_pid" 2>/dev/null && fail "the indexer (pid $indexer_pid) still runs after SIG$signal to the $target"
    kill -0 "$service_pid" 2>/dev/null && fail "the service (pid $service_pid) still runs after SIG$signal to the $target"
    kill -0 "$arweave_pid" 2>/dev/null && fail "arlocal (pid $arweave_pid) still runs after SIG$signal to the $target"
    for pid in $extra_pids; do
        kill -0 "$pid" 2>/dev/null && fail "process $pid (a provider or signer party) still runs after SIG$signal to the $target"
    done
    cast chain-id --rpc-url "http://127.0.0.1:$port" >/dev/null 2>&1 && fail "port $port still answers after SIG$signal"
    grep -q 'dev: stopped' "$log" || fail "scripts/dev did not report that it stopped"
    dev_pid=
}

# Calls through the gateway reach the lying provider; its outvoted answer
# becomes evidence, the evidence a receipt on arlocal, the 2-of-3 group
# signs the order and the registry slashes it, with no manual step.
the_liar_is_slashed() {
    local gateway="http://127.0.0.1:$service_port/v1/rpc/eip155:31337" status="" cairn_bin
    cairn_bin=${CARGO_TARGET_DIR:-$root/target}/debug/cairn
    for _ in $(seq 1 9); do
        [[ $(cast balance --rpc-url "$gateway" 0x000000000000000000000000000000000000dEaD) == 0 ]] ||
            fail "the gateway answered a wrong balance"
    done
    for _ in $(seq 1 600); do
        status=$("$cairn_bin" slash status --service "http://127.0.0.1:$service_port/" 2>&1) || true
        grep -q '^slashed ' <<<"$status" && break
        sleep 0.1
    done
    grep -q '^slashed ' <<<"$status" || fail "the lying provider was not slashed within 60 s: $status"
    local liar=0x976EA74026E726554dB657fA54763abd0C3a0aa9 events
    events=$(cast logs --json --rpc-url "http://127.0.0.1:$port" --from-block 0 \
        'Slashed(address indexed provider, uint256 indexed nonce, uint256 amount, uint8 reason, bytes32 evidenceHash, bytes32 receiptId, uint256 stake, uint256 unbonding, address treasury)' \
        "$liar" | python3 -c 'import json, sys; print(len(json.load(sys.stdin)))') || fail "cannot read the registry's Slashed logs"
    [[ $events == 1 ]] || fail "the registry logged $events slashes of the liar, not 1"
}

# While a stack runs: another shell reaches it through the env file it
# wrote, and a second scripts/dev on the same directory refuses before it
# touches the running stack's store.
second_shell_and_second_start() {
    local service_pid=$1 indexer_pid=$2 cairn_bin out
    [[ -s $work/env ]] || fail "scripts/dev wrote no env file for a second shell"
    cairn_bin=${CARGO_TARGET_DIR:-$root/target}/debug/cairn
    # Without the env file the hint names the dev stack, not a new deploy.
    out=$(cd /tmp && CAIRN_DEV_DIR=$work CAIRN_PROVIDER_KEY=0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d \
        "$cairn_bin" provider withdraw 2>&1) && fail "cairn provider withdraw without the dev env succeeded: $out"
    grep -q "source $work/env" <<<"$out" || fail "the missing-deployment hint does not name the dev env file: $out"
    # With it, the same command reaches the dev chain's deployment.
    out=$(cd /tmp && source "$work/env" && CAIRN_PROVIDER_KEY=0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d \
        cairn provider withdraw 2>&1) || true
    grep -q "no deployment file" <<<"$out" && fail "a shell with the dev env finds no deployment: $out"

    local db_inode
    db_inode=$(stat -c %i "$work/cairn.db") || fail "the running stack has no store at $work/cairn.db"
    local second_log=$work/second.log
    CAIRN_DEV_DIR=$work CAIRN_DEV_ANVIL_PORT=$port CAIRN_DEV_METRICS_PORT=$metrics_port CAIRN_DEV_SERVICE_PORT=$service_port \
        CAIRN_DEV_ARWEAVE_PORT=$arweave_port timeout 120 "$root/scripts/dev" >"$second_log" 2>&1 </dev/null &&
        fail "a second scripts/dev on a running stack's directory started"
    grep -q "another scripts/dev uses $work" "$second_log" || fail "the second scripts/dev did not say why: $(cat "$second_log")"
    # Other ports, same directory: still refused by the lock.
    CAIRN_DEV_DIR=$work CAIRN_DEV_ANVIL_PORT=$((port + 10)) CAIRN_DEV_METRICS_PORT=$((port + 11)) CAIRN_DEV_SERVICE_PORT=$((port + 12)) \
        CAIRN_DEV_ARWEAVE_PORT=$((port + 13)) timeout 120 "$root/scripts/dev" >"$second_log" 2>&1 </dev/null &&
        fail "a second scripts/dev on other ports but the same directory started"
    [[ $(stat -c %i "$work/cairn.db" 2>/dev/null) == "$db_inode" ]] || fail "the second scripts/dev replaced the running stack's store"
    kill -0 "$service_pid" 2>/dev/null || fail "the service died after a second scripts/dev"
    kill -0 "$indexer_pid" 2>/dev/null || fail "the indexer died after a second scripts/dev"
    python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=5)' "http://127.0.0.1:$service_port/readyz" ||
        fail "the service is not ready after a second scripts/dev"
}

run_case INT group
run_case TERM script
run_case INT script terminal --fresh
run_case HUP script
run_case INT script background
echo "dev-stack: 5 passed, 0 failed"
