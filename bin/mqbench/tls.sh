#!/usr/bin/env bash
# Async produce (figure (a)) over plain TCP and over TLS, interleaved on this machine:
# each round runs, in turn, a broker with tls.mode disabled, one with tls.mode permissive
# reached in plain, and one with tls.mode enforcing reached over TLS, each a fresh
# standalone process (NameServer + broker, ASYNC_FLUSH, throwaway store). It prints every
# run's line and then the medians per variant (docs/performance.md, docs/tls.md §3).
#
#   bash bin/mqbench/tls.sh [ROUNDS] [extra mqbench figures flags]
#
# Needs openssl to make the throwaway CA and server certificate.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
ROUNDS=${1:-5}
shift || true
WORK=$(mktemp -d "${TMPDIR:-/tmp}/mqtls.XXXXXX")
BROKER_PID=""
cleanup() {
  [ -n "$BROKER_PID" ] && kill -9 "$BROKER_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

(cd "$ROOT" && go build -o "$WORK/mqbroker" ./bin/mqbroker && go build -o "$WORK/mqbench" ./bin/mqbench)
# A CA and a server certificate for 127.0.0.1, ECDSA P-256 as the tests use.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=mqbench-ca \
  -keyout "$WORK/ca.key" -out "$WORK/ca.pem" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=mqbench-broker \
  -keyout "$WORK/server.key" -out "$WORK/server.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\n' > "$WORK/san.ext"
openssl x509 -req -in "$WORK/server.csr" -CA "$WORK/ca.pem" -CAkey "$WORK/ca.key" -CAcreateserial -days 1 \
  -extfile "$WORK/san.ext" -out "$WORK/server.pem" 2>/dev/null
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

# run LABEL MODE [mqbench TLS flags]: one fresh broker in MODE, one figure (a) against it.
run() {
  local label=$1 mode=$2; shift 2
  local np bp
  np=$(freeport); bp=$(freeport)
  ROCKETGO_NAMESRV_LISTENADDR=127.0.0.1:$np ROCKETGO_TLS_MODE=$mode \
  ROCKETGO_TLS_CERTPATH="$WORK/server.pem" ROCKETGO_TLS_KEYPATH="$WORK/server.key" \
  ROCKETGO_TLS_ENABLE=$([ "$mode" = enforcing ] && echo true || echo false) ROCKETGO_TLS_CLIENTTRUSTCERTPATH="$WORK/ca.pem" \
    "$WORK/mqbroker" -standalone -dashboard "" -c "$ROOT/conf/broker.yaml" -store "$WORK/store" \
      -listen "127.0.0.1:$bp" -brokerIP1 127.0.0.1 -loglevel warn 2> "$WORK/broker.log" &
  BROKER_PID=$!
  for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$bp") 2>/dev/null && break; sleep 0.1; done
  "$WORK/mqbench" figures -namesrv "127.0.0.1:$np" -broker-pid "$BROKER_PID" -phases a -label "$label" "$@" \
    | tee -a "$WORK/all.txt"
  kill "$BROKER_PID"; wait "$BROKER_PID" 2>/dev/null || true; BROKER_PID=""
  rm -rf "$WORK/store"
}

: > "$WORK/all.txt"
for r in $(seq 1 "$ROUNDS"); do
  echo "# round $r" >&2
  run plain disabled "$@"
  run permissive_plain permissive "$@"
  run tls enforcing -tls -tls-ca "$WORK/ca.pem" "$@"
done
echo "# medians over $ROUNDS interleaved round(s)"
"$WORK/mqbench" summarize < "$WORK/all.txt"
