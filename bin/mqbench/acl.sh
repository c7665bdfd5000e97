#!/usr/bin/env bash
# Measures what ACL costs async produce: rounds alternate between a broker with
# aclEnable (every request signed and checked) and one without, each a fresh standalone
# broker on free loopback ports, and the medians of each side are printed
# (docs/acl.md, docs/performance.md).
#
#   bash bin/mqbench/acl.sh [ROUNDS] [extra mqbench figures flags]
#
# Figure (a) only, with the broker's CPU per message (-broker-pid).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
ROUNDS=${1:-5}
shift || true
WORK=$(mktemp -d "${TMPDIR:-/tmp}/mqacl.XXXXXX")
BROKER_PID=""
cleanup() {
  [ -n "$BROKER_PID" ] && kill -9 "$BROKER_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

(cd "$ROOT" && go build -o "$WORK/mqbroker" ./bin/mqbroker && go build -o "$WORK/mqbench" ./bin/mqbench)
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
# No white list: every request is checked by signature.
cat > "$WORK/plain_acl.yml" <<'YML'
globalWhiteRemoteAddresses: []
accounts:
  - accessKey: benchadmin
    secretKey: benchsecret
    admin: true
YML

: > "$WORK/acl.txt"; : > "$WORK/noacl.txt"
round() { # side, then mqbench flags
  local side=$1 NP BP creds=()
  shift
  NP=$(freeport); BP=$(freeport)
  if [ "$side" = acl ]; then
    export ROCKETGO_BROKER_ACLENABLE=true ROCKETGO_BROKER_ACLFILE="$WORK/plain_acl.yml"
    creds=(-accessKey benchadmin -secretKey benchsecret)
  else
    export ROCKETGO_BROKER_ACLENABLE=false
  fi
  ROCKETGO_NAMESRV_LISTENADDR=127.0.0.1:$NP \
    "$WORK/mqbroker" -standalone -c "$ROOT/conf/broker.yaml" -store "$WORK/store" \
      -listen "127.0.0.1:$BP" -brokerIP1 127.0.0.1 -loglevel warn 2> "$WORK/broker-$side.log" &
  BROKER_PID=$!
  for _ in $(seq 1 300); do
    (exec 3<>"/dev/tcp/127.0.0.1/$BP") 2>/dev/null && (exec 3<>"/dev/tcp/127.0.0.1/$NP") 2>/dev/null && break
    sleep 0.1
  done
  if ! "$WORK/mqbench" figures -namesrv "127.0.0.1:$NP" -broker-pid "$BROKER_PID" -phases a -label "$side" \
    "${creds[@]}" "$@" >> "$WORK/$side.txt"; then
    echo "# $side round failed; broker log:" >&2; tail -20 "$WORK/broker-$side.log" >&2; exit 1
  fi
  tail -1 "$WORK/$side.txt"
  kill "$BROKER_PID"; wait "$BROKER_PID" 2>/dev/null || true; BROKER_PID=""
  rm -rf "$WORK/store"
}
for r in $(seq 1 "$ROUNDS"); do
  echo "# round $r" >&2
  round noacl "$@"
  round acl "$@"
done
echo "# medians over $ROUNDS interleaved round(s)"
"$WORK/mqbench" summarize < "$WORK/noacl.txt"
"$WORK/mqbench" summarize < "$WORK/acl.txt"
