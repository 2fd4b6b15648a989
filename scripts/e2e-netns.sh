#!/usr/bin/env bash
# End-to-end test across a real (virtual) LAN: the master and each worker on its own host, i.e. its own
# network namespace with its own address, joined by veth pairs to a bridge in a "switch" namespace.
# Every link is shaped with tc (tbf: 100 Mbit/s, plus netem: 1 ms delay where the kernel has netem).
# A full run to the target, then the bytes that crossed the master's link are compared with the
# bytes the master's summary reports (bytesUp + bytesDown = WebSocket payloads): the link carries
# more (Ethernet/IP/TCP headers, ACKs, WebSocket framing, the HTTP upgrade, heartbeats).
#
#   sudo scripts/e2e-netns.sh       (root: namespaces and tc; needs `npm run build` done first)
#
# Everything lives in namespaces this script creates (10.77.0.0/24 by default): no address outside
# them is ever contacted, and the host's own network is not touched.
# The data: a LIBSVM file from `soda data gen text --like rcv1 --rows E2E_ROWS`, unless E2E_DATASET
# names an embedded dataset (spam, madelon, ...).
# Settings (env): E2E_WORKERS (4), E2E_ROWS (2000), E2E_DATASET, E2E_TOL (1e-4), E2E_TIMEOUT (s, 300),
# E2E_RATE (100mbit), E2E_DELAY (1ms), E2E_SUBNET (10.77.0), E2E_RATIO_MAX (1.5), E2E_SODA_JS (the CLI).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SODA_JS="${E2E_SODA_JS:-$ROOT/packages/cli/bin/soda.js}"
SODA=(node "$SODA_JS")
WORKERS="${E2E_WORKERS:-4}"
DATASET="${E2E_DATASET:-}"
ROWS="${E2E_ROWS:-2000}"
TOL="${E2E_TOL:-1e-4}"
RUN_TIMEOUT="${E2E_TIMEOUT:-300}"
RATE="${E2E_RATE:-100mbit}"
DELAY="${E2E_DELAY:-1ms}"
NET="${E2E_SUBNET:-10.77.0}"
RATIO_MAX="${E2E_RATIO_MAX:-1.5}"
PORT=7070
MASTER_IP="$NET.1"
RID="$(printf '%04x' $((RANDOM)))"
NS_SW="soda-$RID-sw"
NS_M="soda-$RID-m"
WORK="$(mktemp -d /tmp/soda-e2e-netns.XXXXXX)"
NAMESPACES=()
PIDS=()
T0=$SECONDS

log() { echo "[e2e-netns $((SECONDS - T0))s] $*"; }
fail() {
  echo "[e2e-netns] FAIL: $*" >&2
  exit 1
}

cleanup() {
  local rc=$?
  set +e
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null
  done
  if [ $rc -ne 0 ]; then
    for f in "$WORK"/master.log "$WORK"/worker-1.log; do
      [ -f "$f" ] && { echo "---- tail of $(basename "$f") ----" >&2; tail -n 15 "$f" >&2; }
    done
  fi
  # Deleting a namespace deletes its veth ends (and so their peers) and the bridge.
  for ns in "${NAMESPACES[@]}"; do ip netns del "$ns" 2>/dev/null; done
  rm -rf "$WORK"
  if [ $rc -eq 0 ]; then echo "e2e-netns: PASS"; else echo "e2e-netns: FAIL (exit $rc)"; fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[ "$(id -u)" = 0 ] || fail "run as root (network namespaces and tc)"
if ! command -v ip >/dev/null || ! command -v tc >/dev/null; then
  log "installing iproute2 (ip, tc)"
  DEBIAN_FRONTEND=noninteractive timeout 300 apt-get install -y -qq iproute2 >/dev/null 2>&1 ||
    { timeout 300 apt-get update -qq && DEBIAN_FRONTEND=noninteractive timeout 300 apt-get install -y -qq iproute2; } ||
    fail "iproute2 (ip, tc) is missing and could not be installed"
fi
node "$SODA_JS" --help >/dev/null 2>&1 || fail "$SODA_JS --help fails: run npm ci && npm run build first"
if [ "$WORKERS" -lt 1 ] || [ "$WORKERS" -gt 200 ]; then fail "E2E_WORKERS must be 1..200"; fi

if [ -n "$DATASET" ]; then
  DATA_ARGS=(--dataset "$DATASET")
else
  log "generating a $ROWS-row rcv1-like LIBSVM file"
  timeout 120 "${SODA[@]}" data gen text --like rcv1 --rows "$ROWS" --out "$WORK/e2e.svm" >"$WORK/gen.log" 2>&1 ||
    { tail -20 "$WORK/gen.log" >&2; fail "soda data gen failed"; }
  DATA_ARGS=(--data "$WORK/e2e.svm")
  DATASET="rcv1-like, $ROWS rows"
fi

# ---- hosts and links -------------------------------------------------------------------------------
add_ns() {
  ip netns add "$1"
  NAMESPACES+=("$1")
  ip -n "$1" link set lo up
  # IPv6 off: its neighbour discovery and router solicitations would add bytes of nobody's.
  ip netns exec "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
}

NETEM=1
# Shape a host's egress on its eth0: rate with tbf, delay with netem under it (when the kernel has it).
shape() {
  local ns=$1
  ip netns exec "$ns" tc qdisc add dev eth0 root handle 1: tbf rate "$RATE" burst 64kb latency 50ms
  if [ "$NETEM" = 1 ] && ! ip netns exec "$ns" tc qdisc add dev eth0 parent 1:1 handle 10: netem delay "$DELAY" 2>/dev/null; then
    NETEM=0
    log "warning: this kernel has no netem qdisc: links get the $RATE rate but no $DELAY delay"
  fi
}

# A host: namespace $1, port $2 on the switch, address $3.
add_host() {
  add_ns "$1"
  ip link add eth0 netns "$1" type veth peer name "$2" netns "$NS_SW"
  ip -n "$NS_SW" link set dev "$2" master br0 up
  ip -n "$1" addr add "$3/24" dev eth0
  # No segmentation offload: TCP sends wire-sized frames (MTU 1500), so the counters see every
  # frame's headers as a physical LAN would, not one header per 64 KB super-packet.
  ip -n "$1" link set dev eth0 gso_max_segs 1 gso_max_size 1500
  ip -n "$1" link set eth0 up
  shape "$1"
}

log "creating the switch, the master host $MASTER_IP and $WORKERS worker hosts ($RATE, $DELAY)"
add_ns "$NS_SW"
ip -n "$NS_SW" link add br0 type bridge
ip -n "$NS_SW" link set br0 up
add_host "$NS_M" m "$MASTER_IP"
for i in $(seq 1 "$WORKERS"); do add_host "soda-$RID-w$i" "w$i" "$NET.$((i + 10))"; done

counter() { ip netns exec "$NS_SW" cat "/sys/class/net/$1/statistics/$2"; }
# Switch side of the master's link: rx = what the master sent (down), tx = what it received (up).
M_RX0=$(counter m rx_bytes)
M_TX0=$(counter m tx_bytes)
M_PK0=$(($(counter m rx_packets) + $(counter m tx_packets)))

# ---- the run ---------------------------------------------------------------------------------------
log "starting the master on $MASTER_IP:$PORT ($DATASET, $WORKERS workers, tol $TOL)"
timeout "$RUN_TIMEOUT" ip netns exec "$NS_M" "${SODA[@]}" master --host "$MASTER_IP" --port "$PORT" \
  --workers "$WORKERS" "${DATA_ARGS[@]}" --tol "$TOL" --out "$WORK/out" >"$WORK/master.log" 2>&1 &
MASTER_PID=$!
PIDS+=("$MASTER_PID")
for i in $(seq 1 "$WORKERS"); do
  timeout "$RUN_TIMEOUT" ip netns exec "soda-$RID-w$i" "${SODA[@]}" worker \
    --master "ws://$MASTER_IP:$PORT" >"$WORK/worker-$i.log" 2>&1 &
  PIDS+=("$!")
done

set +e
wait "$MASTER_PID"
MASTER_RC=$?
set -e
[ $MASTER_RC -ne 124 ] || fail "the master did not finish in ${RUN_TIMEOUT}s"
[ $MASTER_RC -eq 0 ] || fail "the master exited $MASTER_RC"
log "master finished; waiting for the workers to exit"
WORKER_FAIL=""
for i in $(seq 1 "$WORKERS"); do
  set +e
  wait "${PIDS[$i]}"
  rc=$?
  set -e
  [ $rc -eq 0 ] || WORKER_FAIL+=" w$i:$rc"
done
PIDS=()
[ -z "$WORKER_FAIL" ] || fail "workers did not exit 0:$WORKER_FAIL"

M_PKTS=$(($(counter m rx_packets) + $(counter m tx_packets) - M_PK0))
M_RX=$(($(counter m rx_bytes) - M_RX0))
M_TX=$(($(counter m tx_bytes) - M_TX0))
W_SUM=0
for i in $(seq 1 "$WORKERS"); do W_SUM=$((W_SUM + $(counter "w$i" rx_bytes) + $(counter "w$i" tx_bytes))); done
echo "---- tc on the master's link ----"
ip netns exec "$NS_M" tc -s qdisc show dev eth0 | sed 's/^/  /'

# ---- checks ----------------------------------------------------------------------------------------
node - "$WORK/master.log" "$WORKERS" "$TOL" "$M_RX" "$M_TX" "$W_SUM" "$RATIO_MAX" "$M_PKTS" <<'EOF' || fail "checks failed"
const [file, workers, tol, mRx, mTx, wSum, ratioMax, pkts] = process.argv.slice(2);
const recs = require('fs').readFileSync(file, 'utf8').split('\n').filter((l) => l.startsWith('{'))
  .map((l) => { try { return JSON.parse(l); } catch { return {}; } });
const s = recs.find((r) => r.msg === 'summary');
if (!s) { console.error('no summary line in the master log'); process.exit(1); }
const app = s.bytesDown + s.bytesUp;
const link = Number(mRx) + Number(mTx);
const ratio = link / app;
const mb = (b) => (b / 1e6).toFixed(3) + ' MB';
console.log(`summary: reason=${s.reason} subopt=${s.subopt} workers=${s.workers} epochs=${s.epochs} ` +
  `updates=${s.updates} elapsedMs=${s.elapsedMs}`);
console.log(`master reports: bytesDown ${mb(s.bytesDown)} + bytesUp ${mb(s.bytesUp)} = ${mb(app)} (${app} B)`);
console.log(`master's link:  sent ${mb(Number(mRx))} + received ${mb(Number(mTx))} = ${mb(link)} (${link} B in ${pkts} frames, ${(link / Number(pkts)).toFixed(0)} B/frame)`);
console.log(`worker links:   ${mb(Number(wSum))} in all (every byte to or from the master crosses one)`);
console.log(`link / reported = ${ratio.toFixed(4)} (allowed 1.0 .. ${ratioMax})`);
const errs = [];
if (s.workers !== Number(workers)) errs.push(`workers ${s.workers} != ${workers}`);
if (!(typeof s.subopt === 'number' && s.subopt <= Number(tol))) errs.push(`subopt ${s.subopt} > ${tol}`);
if (!(app > 0)) errs.push('the master reports no bytes');
if (!(ratio >= 1 && ratio <= Number(ratioMax))) errs.push(`ratio ${ratio} outside 1.0 .. ${ratioMax}`);
// The switch only forwards: what the master's link carried, the worker links carried (± stray frames).
if (Math.abs(Number(wSum) - link) > 0.01 * link) errs.push(`worker links ${wSum} B differ from the master's ${link} B`);
if (errs.length) { console.error(errs.join('; ')); process.exit(1); }
EOF
log "target reached by $WORKERS workers over shaped links; bytes match within the allowed overhead"
