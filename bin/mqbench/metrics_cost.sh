#!/usr/bin/env bash
# Measures what the broker's metrics cost on asynchronous produce (figure (a)): runs a
# fresh standalone broker with metricsExporterType=PROM and one with DISABLE, alternating
# (on, off, off, on, ...) so drift on a shared machine falls on both sides, and prints
# each side's medians and the on/off ratios (docs/metrics.md, "Cost on the send path").
#
#   bash bin/mqbench/metrics_cost.sh [ROUNDS] [extra mqbench figures flags]
#
# ROUNDS (default 5) counts pairs. With metrics on, /metrics is scraped every SCRAPE
# seconds (default 15, a usual Prometheus scrape_interval) during the run. Besides the
# medians of each side it prints the median of the per-round on/off ratios, which
# cancels most of the drift of a shared machine.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
ROUNDS=${1:-5}
SCRAPE=${SCRAPE:-15}
shift || true
WORK=$(mktemp -d "${TMPDIR:-/tmp}/mqmetrics.XXXXXX")
BROKER_PID=""
SCRAPER_PID=""
cleanup() {
  [ -n "$SCRAPER_PID" ] && kill "$SCRAPER_PID" 2>/dev/null || true
  [ -n "$BROKER_PID" ] && kill -9 "$BROKER_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

(cd "$ROOT" && go build -o "$WORK/mqbroker" ./bin/mqbroker && go build -o "$WORK/mqbench" ./bin/mqbench)
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

# run SIDE [figures flags]: one broker with metrics SIDE (on|off), figure (a) against it.
run() {
  local side=$1 type=DISABLE NP BP MP NMP
  shift
  [ "$side" = on ] && type=PROM
  NP=$(freeport); BP=$(freeport); MP=$(freeport); NMP=$(freeport)
  ROCKETGO_NAMESRV_LISTENADDR=127.0.0.1:$NP \
  ROCKETGO_NAMESRV_METRICSEXPORTERTYPE=DISABLE \
  ROCKETGO_NAMESRV_NAMESRVMETRICSPROMEXPORTERPORT=$NMP \
  ROCKETGO_BROKER_METRICSEXPORTERTYPE=$type \
  ROCKETGO_BROKER_METRICSPROMEXPORTERHOST=127.0.0.1 \
  ROCKETGO_BROKER_METRICSPROMEXPORTERPORT=$MP \
    "$WORK/mqbroker" -standalone -c "$ROOT/conf/broker.yaml" -store "$WORK/store" \
      -listen "127.0.0.1:$BP" -brokerIP1 127.0.0.1 -loglevel warn 2> "$WORK/broker-$side.log" &
  BROKER_PID=$!
  for _ in $(seq 1 300); do (exec 3<>"/dev/tcp/127.0.0.1/$BP") 2>/dev/null && break; sleep 0.1; done
  if [ "$side" = on ]; then
    (while true; do curl -s -o /dev/null "http://127.0.0.1:$MP/metrics" || true; sleep "$SCRAPE"; done) &
    SCRAPER_PID=$!
  fi
  "$WORK/mqbench" figures -namesrv "127.0.0.1:$NP" -broker-pid "$BROKER_PID" -phases a -label "$side" "$@" \
    | tee -a "$WORK/$side.txt"
  if [ -n "$SCRAPER_PID" ]; then kill "$SCRAPER_PID" 2>/dev/null || true; wait "$SCRAPER_PID" 2>/dev/null || true; SCRAPER_PID=""; fi
  kill "$BROKER_PID"; wait "$BROKER_PID" 2>/dev/null || true; BROKER_PID=""
  rm -rf "$WORK/store"
}

: > "$WORK/on.txt"; : > "$WORK/off.txt"
for r in $(seq 1 "$ROUNDS"); do
  if [ $((r % 2)) -eq 1 ]; then first=on; second=off; else first=off; second=on; fi
  echo "# round $r: $first, $second" >&2
  run "$first" "$@"
  run "$second" "$@"
done

echo "# medians over $ROUNDS round(s)"
"$WORK/mqbench" summarize < "$WORK/on.txt" | tee "$WORK/on.med"
"$WORK/mqbench" summarize < "$WORK/off.txt" | tee "$WORK/off.med"
for key in msgs_per_s srv_cpu_us_per_msg; do
  on=$(grep -oE " $key=[0-9.e+-]+" "$WORK/on.med" | head -1 | cut -d= -f2 || true)
  off=$(grep -oE " $key=[0-9.e+-]+" "$WORK/off.med" | head -1 | cut -d= -f2 || true)
  if [ -n "$on" ] && [ -n "$off" ]; then
    awk -v k="$key" -v on="$on" -v off="$off" 'BEGIN { printf "metrics cost %s on/off=%.3f (on %s, off %s)\n", k, on/off, on, off }'
  fi
done
# Paired: the ratio of each round's on and off runs, then the median of those.
python3 - "$WORK/on.txt" "$WORK/off.txt" <<'PY'
import re, statistics, sys
def read(path, key):
    return [float(m.group(1)) for line in open(path) if (m := re.search(r" %s=([0-9.e+-]+)" % key, line))]
for key in ("msgs_per_s", "srv_cpu_us_per_msg"):
    on, off = read(sys.argv[1], key), read(sys.argv[2], key)
    ratios = [a / b for a, b in zip(on, off) if b]
    if ratios:
        print("metrics cost %s paired on/off median=%.3f rounds=%s" % (key, statistics.median(ratios), " ".join("%.3f" % r for r in ratios)))
PY
