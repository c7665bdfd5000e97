#!/usr/bin/env bash
# Runs the NATS JetStream peer and rocketgo interleaved (peer, ours, peer, ours, ...) on
# this machine and prints each side's medians and the ratios docs/performance.md's targets use.
#
#   bash bin/mqbench/compare.sh [RUNS] [extra mqbench figures flags]
#
# Each of our runs starts a fresh standalone broker (NameServer + broker in one process,
# ASYNC_FLUSH, throwaway store) on free loopback ports, runs `mqbench figures` against it
# with the broker's PID for server CPU, and stops it. The pull batch of figure (c) is 500,
# as the peer's, so the broker's per-pull transfer limits are raised to allow it. The
# metrics and gRPC endpoints take free ports and no dashboard runs, so a port someone
# else holds (5557, 8080, 8081) cannot keep the broker from starting.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
RUNS=${1:-3}
shift || true
# The peer harness lives beside the checkout the worktrees share (git's common directory),
# so the default resolves from a linked worktree too.
if [ -z "${PEER:-}" ]; then
  COMMON=$(git -C "$ROOT" rev-parse --path-format=absolute --git-common-dir 2>/dev/null || echo "$ROOT/.git")
  PEER=$(dirname "$(dirname "$COMMON")")/shared/peers/natsbench
fi
if [ ! -f "$PEER/run.sh" ]; then
  echo "compare.sh: no peer harness at $PEER (set PEER=<dir with run.sh>)" >&2
  exit 2
fi
WORK=$(mktemp -d "${TMPDIR:-/tmp}/mqcompare.XXXXXX")
BROKER_PID=""
cleanup() {
  [ -n "$BROKER_PID" ] && kill -9 "$BROKER_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

(cd "$ROOT" && go build -o "$WORK/mqbroker" ./bin/mqbroker && go build -o "$WORK/mqbench" ./bin/mqbench)
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

: > "$WORK/peer.txt"; : > "$WORK/ours.txt"
for r in $(seq 1 "$RUNS"); do
  echo "# run $r: peer" >&2
  # The peer harness occasionally stalls ("too many outstanding async published
  # messages"); one retry keeps a run from being lost to that.
  for try in 1 2; do
    if bash "$PEER/run.sh" 1 > "$WORK/peer-run.txt" 2>&1; then break; fi
    echo "# peer run $r failed (try $try): $(grep -m1 -i error "$WORK/peer-run.txt")" >&2
    : > "$WORK/peer-run.txt"
  done
  grep -E '^run=' "$WORK/peer-run.txt" | sed 's/^run=[0-9]* //' | tee -a "$WORK/peer.txt" || true

  echo "# run $r: rocketgo" >&2
  NP=$(freeport); BP=$(freeport)
  ROCKETGO_NAMESRV_LISTENADDR=127.0.0.1:$NP \
  ROCKETGO_BROKER_MAXTRANSFERCOUNTONMESSAGEINMEMORY=500 \
  ROCKETGO_BROKER_MAXTRANSFERBYTESONMESSAGEINMEMORY=1048576 \
  ROCKETGO_BROKER_METRICSPROMEXPORTERHOST=127.0.0.1 ROCKETGO_BROKER_METRICSPROMEXPORTERPORT=0 \
  ROCKETGO_NAMESRV_METRICSPROMEXPORTERHOST=127.0.0.1 ROCKETGO_NAMESRV_NAMESRVMETRICSPROMEXPORTERPORT=0 \
  ROCKETGO_BROKER_GRPCLISTENADDR=127.0.0.1:0 \
    "$WORK/mqbroker" -standalone -c "$ROOT/conf/broker.yaml" -store "$WORK/store-$r" \
      -listen "127.0.0.1:$BP" -brokerIP1 127.0.0.1 -dashboard "" -loglevel warn 2> "$WORK/broker-$r.log" &
  BROKER_PID=$!
  for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$BP") 2>/dev/null && break; sleep 0.1; done
  "$WORK/mqbench" figures -namesrv "127.0.0.1:$NP" -broker-pid "$BROKER_PID" "$@" | tee -a "$WORK/ours.txt"
  kill "$BROKER_PID"; wait "$BROKER_PID" 2>/dev/null || true; BROKER_PID=""
  rm -rf "$WORK/store-$r"
done

echo "# medians over $RUNS interleaved run(s)"
"$WORK/mqbench" summarize < "$WORK/peer.txt" | tee "$WORK/peer.med"
"$WORK/mqbench" summarize < "$WORK/ours.txt" | tee "$WORK/ours.med"
# ratio FIGURE KEY: ours/peer of one median value.
ratio() {
  local p o
  p=$(grep -E "\.$1( |$)" "$WORK/peer.med" | grep -oE " $2=[0-9.e+-]+" | cut -d= -f2 || true)
  o=$(grep -E "\.$1( |$)" "$WORK/ours.med" | grep -oE " $2=[0-9.e+-]+" | cut -d= -f2 || true)
  if [ -n "$p" ] && [ -n "$o" ]; then
    awk -v f="$1" -v k="$2" -v p="$p" -v o="$o" 'BEGIN { printf "ratio %s %s ours/peer=%.2f (ours %s, peer %s)\n", f, k, o/p, o, p }'
  fi
}
ratio a_async_pub msgs_per_s
ratio a_async_pub srv_cpu_us_per_msg
ratio b_sync_pub p50_us
ratio b_sync_pub p99_us
ratio c_pull_consume msgs_per_s
ratio c_pull_consume srv_cpu_us_per_msg
ratio d_e2e_latency p50_us
ratio d_e2e_latency p99_us
