#!/usr/bin/env bash
# End-to-end test of the deployment users run: the Docker image and `compose up --scale worker=N`.
#
#   sudo scripts/e2e-docker.sh            (root: it may install and start the Docker engine)
#
# 1. installs Debian's docker.io and docker-compose when there is no engine, starts dockerd when none runs;
# 2. builds a stand-in for the Node base image from this machine's node (no image can be pulled here;
#    set E2E_NODE_IMAGE=node:24-bookworm-slim where pulls work) and the project's image on it;
# 3. checks the image's HEALTHCHECK command on a waiting master and a waiting worker;
# 4. runs `compose up --scale worker=N --abort-on-container-exit` on a small dataset, then checks that
#    compose exited 0, every container exited 0, the master's JSON summary reports the target reached
#    with N workers, and the model was written to the volume;
# 5. runs with more workers than shards (the extra one waits as a standby, all exit 0) and with fewer
#    (the master waits, says so, is healthy by the image's HEALTHCHECK, and stops with exit 0 on SIGTERM);
# 6. tears everything down (containers, network, volume; the dockerd it started), also on failure.
# The dataset is a LIBSVM file that `soda data gen text --like rcv1 --rows E2E_ROWS` writes into the
# compose volume (through `compose run`), unless E2E_DATASET names an embedded one (spam, madelon, ...).
# Settings (env): E2E_WORKERS (20), E2E_ROWS (2000), E2E_DATASET, E2E_TOL (1e-4), E2E_TIMEOUT (s, 600),
# E2E_NODE_IMAGE, E2E_KEEP_IMAGE (1: keep the built image, the default, so reruns hit the build cache).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORKERS="${E2E_WORKERS:-20}"
DATASET="${E2E_DATASET:-}"
ROWS="${E2E_ROWS:-2000}"
TOL="${E2E_TOL:-1e-4}"
RUN_TIMEOUT="${E2E_TIMEOUT:-600}"
BASE_IMAGE="${E2E_NODE_IMAGE:-soda-node-base:local}"
IMAGE="soda:e2e"
PROJECT="sodae2e$$"
WORK="$(mktemp -d /tmp/soda-e2e-docker.XXXXXX)"
STARTED_DOCKERD=""
COMPOSE=()
T0=$SECONDS

log() { echo "[e2e-docker $((SECONDS - T0))s] $*"; }
fail() {
  echo "[e2e-docker] FAIL: $*" >&2
  exit 1
}

cleanup() {
  local rc=$?
  set +e
  if [ ${#COMPOSE[@]} -gt 0 ]; then
    if [ $rc -ne 0 ]; then
      echo "---- last compose output ----" >&2
      tail -n 40 "$WORK/compose.log" >&2 2>/dev/null
    fi
    (cd "$ROOT" && timeout 120 "${COMPOSE[@]}" -p "$PROJECT" down -v --remove-orphans -t 5 >/dev/null 2>&1)
  fi
  for c in "$PROJECT-hc-master" "$PROJECT-hc-worker"; do docker rm -f "$c" >/dev/null 2>&1; done
  docker network rm "$PROJECT-hc" >/dev/null 2>&1
  if [ "${E2E_KEEP_IMAGE:-1}" != 1 ]; then docker image rm "$IMAGE" >/dev/null 2>&1; fi
  if [ -n "$STARTED_DOCKERD" ]; then
    log "stopping the dockerd this script started (pid $STARTED_DOCKERD)"
    kill "$STARTED_DOCKERD" 2>/dev/null
    for _ in $(seq 1 30); do kill -0 "$STARTED_DOCKERD" 2>/dev/null || break; sleep 1; done
  fi
  rm -rf "$WORK"
  if [ $rc -eq 0 ]; then echo "e2e-docker: PASS"; else echo "e2e-docker: FAIL (exit $rc)"; fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[ "$(id -u)" = 0 ] || fail "run as root (installs and starts the Docker engine)"

# ---- 1. engine ------------------------------------------------------------------------------------
if ! command -v dockerd >/dev/null || ! command -v docker >/dev/null ||
  { ! docker compose version >/dev/null 2>&1 && ! command -v docker-compose >/dev/null; }; then
  log "installing docker.io and docker-compose (Debian)"
  export DEBIAN_FRONTEND=noninteractive
  timeout 300 apt-get update -qq || fail "apt-get update failed"
  timeout 600 apt-get install -y -qq --no-install-recommends docker.io docker-compose >"$WORK/apt.log" 2>&1 ||
    { tail -20 "$WORK/apt.log" >&2; fail "apt-get install docker.io docker-compose failed"; }
fi
if ! timeout 20 docker info >/dev/null 2>&1; then
  log "starting dockerd"
  dockerd >"$WORK/dockerd.log" 2>&1 &
  STARTED_DOCKERD=$!
  for _ in $(seq 1 60); do
    timeout 10 docker info >/dev/null 2>&1 && break
    kill -0 "$STARTED_DOCKERD" 2>/dev/null || { tail -20 "$WORK/dockerd.log" >&2; fail "dockerd exited"; }
    sleep 1
  done
  timeout 10 docker info >/dev/null 2>&1 || { tail -20 "$WORK/dockerd.log" >&2; fail "dockerd did not come up in 60 s"; }
fi
if docker compose version >/dev/null 2>&1; then COMPOSE=(docker compose); else COMPOSE=(docker-compose); fi
log "engine $(docker version -f '{{.Server.Version}}'), compose: ${COMPOSE[*]} ($("${COMPOSE[@]}" version --short 2>/dev/null || true))"

# ---- 2. images ------------------------------------------------------------------------------------
if [ "$BASE_IMAGE" = soda-node-base:local ]; then
  log "building the base image stand-in $BASE_IMAGE from this machine's node"
  timeout 300 bash "$ROOT/scripts/docker-base-image.sh" "$BASE_IMAGE" || fail "base image build failed"
fi
log "building $IMAGE (NODE_IMAGE=$BASE_IMAGE)"
# The build's npm ci reaches the registry the way this machine's own npm does (host network, its DNS).
timeout 1200 docker build --network host --build-arg "NODE_IMAGE=$BASE_IMAGE" -t "$IMAGE" "$ROOT" \
  >"$WORK/build.log" 2>&1 || { tail -40 "$WORK/build.log" >&2; fail "docker build failed"; }
SIZE_MB="$(docker image inspect -f '{{.Size}}' "$IMAGE" | awk '{printf "%.0f", $1/1e6}')"
BASE_MB="$(docker image inspect -f '{{.Size}}' "$BASE_IMAGE" | awk '{printf "%.0f", $1/1e6}')"
log "image $IMAGE: ${SIZE_MB} MB (base $BASE_IMAGE: ${BASE_MB} MB, so SODA adds $((SIZE_MB - BASE_MB)) MB)"
[ "$(docker image inspect -f '{{.Config.User}}' "$IMAGE")" = node ] || fail "image does not run as user node"
docker run --rm "$IMAGE" --help >"$WORK/help.txt" 2>&1 || { cat "$WORK/help.txt" >&2; fail "soda --help fails in the image"; }

# ---- 3. the HEALTHCHECK command, on a master waiting for workers and a worker waiting for a master ----
log "checking the image's HEALTHCHECK command"
docker network create "$PROJECT-hc" >/dev/null
docker run -d --name "$PROJECT-hc-master" --network "$PROJECT-hc" "$IMAGE" \
  master --dataset madelon --workers 2 >/dev/null
docker run -d --name "$PROJECT-hc-worker" --network "$PROJECT-hc" "$IMAGE" \
  worker --master "ws://nowhere.invalid:7070" >/dev/null
HC=""
for _ in $(seq 1 60); do
  if docker exec "$PROJECT-hc-master" node /app/healthcheck.js >/dev/null 2>&1; then HC=ok; break; fi
  sleep 1
done
[ "$HC" = ok ] || { docker logs "$PROJECT-hc-master" 2>&1 | tail -20 >&2; fail "healthcheck on a waiting master failed for 60 s"; }
docker exec "$PROJECT-hc-worker" node /app/healthcheck.js || fail "healthcheck on a waiting worker failed"
# A master that is not listening must be reported unhealthy.
if docker exec -e SODA_PORT=1 "$PROJECT-hc-master" node /app/healthcheck.js >/dev/null 2>&1; then
  fail "healthcheck passed against a port nobody listens on"
fi
docker rm -f "$PROJECT-hc-master" "$PROJECT-hc-worker" >/dev/null
docker network rm "$PROJECT-hc" >/dev/null

# ---- 4. compose up --scale worker=N ----------------------------------------------------------------
export SODA_IMAGE="$IMAGE" SODA_WORKERS="$WORKERS" SODA_TOL="$TOL" SODA_PUBLISH="127.0.0.1:" NODE_IMAGE="$BASE_IMAGE"
unset SODA_DATA SODA_DATASET SODA_MASTER SODA_VOLUME SODA_OUT SODA_TOKEN SODA_P SODA_ALGO
if [ -n "$DATASET" ]; then
  export SODA_DATASET="$DATASET"
else
  log "writing a $ROWS-row rcv1-like LIBSVM file into the volume (compose run master data gen ...)"
  (cd "$ROOT" && timeout 300 "${COMPOSE[@]}" -p "$PROJECT" run --rm --no-deps -T master \
    data gen text --like rcv1 --rows "$ROWS" --out /data/e2e.svm) >"$WORK/gen.log" 2>&1 ||
    { tail -20 "$WORK/gen.log" >&2; fail "soda data gen in the volume failed"; }
  export SODA_DATA=/data/e2e.svm
  DATASET="rcv1-like, $ROWS rows"
fi
log "compose up --scale worker=$WORKERS on $DATASET to subopt $TOL (timeout ${RUN_TIMEOUT}s)"
set +e
(cd "$ROOT" && timeout "$RUN_TIMEOUT" "${COMPOSE[@]}" -p "$PROJECT" up --no-build --no-color \
  --scale "worker=$WORKERS" --abort-on-container-exit >"$WORK/compose.log" 2>&1)
UP_RC=$?
set -e
[ $UP_RC -ne 124 ] || fail "compose up did not finish in ${RUN_TIMEOUT}s"
log "compose up exited $UP_RC"

MASTER_ID="$(cd "$ROOT" && "${COMPOSE[@]}" -p "$PROJECT" ps -q master)"
[ -n "$MASTER_ID" ] || fail "no master container"
docker logs "$MASTER_ID" >"$WORK/master.log" 2>"$WORK/master.err" || true
mapfile -t WORKER_IDS < <(cd "$ROOT" && "${COMPOSE[@]}" -p "$PROJECT" ps -q worker)
[ ${#WORKER_IDS[@]} -eq "$WORKERS" ] || fail "expected $WORKERS worker containers, found ${#WORKER_IDS[@]}"
BAD_EXITS=""
for id in "$MASTER_ID" "${WORKER_IDS[@]}"; do
  st="$(docker inspect -f '{{.Name}} {{.State.Status}} {{.State.ExitCode}}' "$id")"
  case "$st" in *" exited 0") ;; *) BAD_EXITS+="  $st"$'\n' ;; esac
done

node - "$WORK/master.log" "$WORKERS" "$TOL" <<'EOF' || fail "the master's logs do not show the target reached (see above)"
const [file, workers, tol] = process.argv.slice(2);
const lines = require('fs').readFileSync(file, 'utf8').split('\n').filter((l) => l.startsWith('{'));
const recs = lines.map((l) => { try { return JSON.parse(l); } catch { return {}; } });
const progress = recs.filter((r) => r.msg === 'progress');
const summary = recs.find((r) => r.msg === 'summary');
if (!summary) { console.error(`no summary line among ${lines.length} JSON lines`); process.exit(1); }
const s = summary;
console.log(`summary: reason=${s.reason} subopt=${s.subopt} objective=${s.objective} fstar=${s.fstar} ` +
  `workers=${s.workers} epochs=${s.epochs} updates=${s.updates} nnz=${s.nnz} ` +
  `bytesUp=${s.bytesUp} bytesDown=${s.bytesDown} elapsedMs=${s.elapsedMs} progressLines=${progress.length}`);
const errs = [];
if (s.workers !== Number(workers)) errs.push(`workers ${s.workers} != ${workers}`);
if (!(typeof s.subopt === 'number' && s.subopt <= Number(tol))) errs.push(`subopt ${s.subopt} > ${tol}`);
if (s.reason !== 'tol') errs.push(`reason ${s.reason} (expected tol)`);
if (!(s.updates > 0 && s.bytesUp > 0 && s.bytesDown > 0)) errs.push('no traffic counted');
if (errs.length) { console.error(errs.join('; ')); process.exit(1); }
EOF
[ $UP_RC -eq 0 ] || fail "compose up --abort-on-container-exit exited $UP_RC"
[ -z "$BAD_EXITS" ] || fail $'containers that did not exit 0 by themselves:\n'"$BAD_EXITS"

VOLUME="$(docker inspect -f '{{range .Mounts}}{{if eq .Destination "/data"}}{{.Name}}{{end}}{{end}}' "$MASTER_ID")"
[ -n "$VOLUME" ] || fail "the master has no volume on /data"
docker run --rm --entrypoint ls -v "$VOLUME:/data" "$IMAGE" -lR /data/out >"$WORK/out.txt" 2>&1 ||
  { cat "$WORK/out.txt" >&2; fail "no /data/out in the volume $VOLUME"; }
grep -q -i 'model' "$WORK/out.txt" || { cat "$WORK/out.txt" >&2; fail "no model file in the volume $VOLUME:/data/out"; }
log "outputs in volume $VOLUME: $(grep '^-' "$WORK/out.txt" | awk '{print $NF}' | tr '\n' ' ')"

# ---- 5. more workers than shards, then fewer -------------------------------------------------------
log "more workers than shards: SODA_WORKERS=2, --scale worker=3"
set +e
(cd "$ROOT" && SODA_WORKERS=2 timeout 300 "${COMPOSE[@]}" -p "$PROJECT" up --no-build --no-color \
  --scale worker=3 --abort-on-container-exit >"$WORK/compose.log" 2>&1)
UP_RC=$?
set -e
[ $UP_RC -eq 0 ] || fail "compose up with a standby worker exited $UP_RC"
master_id() { (cd "$ROOT" && "${COMPOSE[@]}" -p "$PROJECT" ps -q master); } # recreated when its env changes
MASTER_ID="$(master_id)"
# Logs go to a file first: `docker logs | grep -q` fails under pipefail when grep stops reading early.
docker logs "$MASTER_ID" >"$WORK/master2.log" 2>&1 || true
grep -q '"msg":"worker on standby"' "$WORK/master2.log" || fail "the master logged no standby worker"
grep -q '"msg":"summary"' "$WORK/master2.log" || fail "the run with a standby worker has no summary"
for id in $(cd "$ROOT" && "${COMPOSE[@]}" -p "$PROJECT" ps -q); do
  st="$(docker inspect -f '{{.Name}} {{.State.Status}} {{.State.ExitCode}}' "$id")"
  case "$st" in *" exited 0") ;; *) fail "with a standby: $st" ;; esac
done

log "fewer workers than shards: SODA_WORKERS=3, --scale worker=2 (the master waits, healthy)"
(cd "$ROOT" && SODA_WORKERS=3 timeout 120 "${COMPOSE[@]}" -p "$PROJECT" up -d --no-build --scale worker=2 \
  >"$WORK/compose.log" 2>&1) || fail "compose up -d failed"
MASTER_ID="$(master_id)"
HEALTH=""
for _ in $(seq 1 60); do
  HEALTH="$(docker inspect -f '{{.State.Status}}/{{.State.Health.Status}}' "$MASTER_ID")"
  [ "$HEALTH" = running/healthy ] && break
  sleep 1
done
[ "$HEALTH" = running/healthy ] || fail "the waiting master is $HEALTH after 60 s, not running/healthy"
docker logs "$MASTER_ID" >"$WORK/master3.log" 2>&1 || true
tail -n 5 "$WORK/master3.log" | grep 'waiting for workers 2/3' >/dev/null ||
  { tail -n 5 "$WORK/master3.log" >&2; fail "the master does not say it waits for workers 2/3"; }
(cd "$ROOT" && timeout 120 "${COMPOSE[@]}" -p "$PROJECT" stop -t 20 >/dev/null 2>&1) || fail "compose stop failed"
for id in $(cd "$ROOT" && "${COMPOSE[@]}" -p "$PROJECT" ps -q); do
  st="$(docker inspect -f '{{.Name}} {{.State.ExitCode}}' "$id")"
  case "$st" in *" 0") ;; *) fail "after docker stop (SIGTERM), $st" ;; esac
done
log "image ${SIZE_MB} MB; $WORKERS workers reached subopt <= $TOL; all $((WORKERS + 1)) containers exited 0;"
log "a standby worker exited 0; a master short of workers waited, healthy, and stopped cleanly on SIGTERM"
