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
# 6. splits a file into shards (docker-compose.shards.yml's split service) and trains with the master
#    holding no data (--data-at-workers): the summary must be a gap stop (tol-gap, no F*);
# 7. the same on a single-node Swarm (docker swarm init, docker stack deploy, workers scaled with a spare);
# 4b, 8. a master killed mid-run (SIGKILL to the container's init, as a crash: not `docker kill`, which
#    the engine takes for an operator's stop) under Compose and under the one-node Swarm: the engine
#    restarts it (restart on-failure), it resumes from its checkpoint (SODA_RESUME=auto, the files'
#    default) and the run reaches its target; every container exits 0, every current task is Complete;
# 8. tears everything down (containers, network, volume; the stack, the swarm and the dockerd it
#    started), also on failure.
# The dataset is a LIBSVM file that `soda data gen text --like rcv1 --rows E2E_ROWS` writes into the
# compose volume (through `compose run`), unless E2E_DATASET names an embedded one (spam, madelon, ...).
# Settings (env): E2E_SHARDS (4, parts in 6 and 7), E2E_WORKERS (20), E2E_ROWS (2000), E2E_DATASET, E2E_TOL (1e-4), E2E_TIMEOUT (s, 600),
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

# ---- 4b. the master killed mid-run under Compose: restarted by the engine, it resumes ---------------
# Each scenario below has its own checkpoint: with SODA_RESUME=auto, one of another run is refused.
KILL_WORKERS=4
# a checkpoint past k = 0 (the first one may come before any update)
MIDRUN='"k":[1-9][0-9]*,.*"msg":"checkpoint written"'
# crash CONTAINER: SIGKILL its init (pid 1 inside), which takes the whole container down with exit 137
crash() { kill -KILL "$(docker inspect -f '{{.State.Pid}}' "$1")"; }
# check_resumed LOG M: one resume from a checkpoint, then a summary that reached the target with M workers
check_resumed() {
  node - "$1" "$2" "$TOL" <<'EOF1'
const [file, workers, tol] = process.argv.slice(2);
const recs = require('fs').readFileSync(file, 'utf8').split('\n')
  .map((l) => l.slice(l.indexOf('{'))).filter((l) => l.startsWith('{'))
  .map((l) => { try { return JSON.parse(l); } catch { return {}; } });
const resumed = recs.filter((r) => r.msg === 'resuming from checkpoint');
const s = recs.find((r) => r.msg === 'summary');
if (resumed.length !== 1 || !s) { console.error(`${resumed.length} resumes, summary: ${!!s}`); process.exit(1); }
console.log(`resumed at k=${resumed[0].k} (subopt ${resumed[0].subopt}); summary: reason=${s.reason} ` +
  `subopt=${s.subopt} k=${s.k} workers=${s.workers}`);
const errs = [];
if (s.reason !== 'tol') errs.push(`reason ${s.reason} (expected tol)`);
if (!(typeof s.subopt === 'number' && s.subopt <= Number(tol))) errs.push(`subopt ${s.subopt} > ${tol}`);
if (!(s.k > resumed[0].k)) errs.push(`k ${s.k} not past the resumed ${resumed[0].k}`);
if (s.workers !== Number(workers)) errs.push(`workers ${s.workers} != ${workers}`);
if (errs.length) { console.error(errs.join('; ')); process.exit(1); }
EOF1
}
log "compose: $KILL_WORKERS workers; the master is killed (SIGKILL) at a checkpoint past k = 0"
(cd "$ROOT" && SODA_WORKERS=$KILL_WORKERS SODA_CHECKPOINT=/data/out/killed.soda SODA_CHECKPOINT_EVERY=1 \
  SODA_DELAY_MS=20 timeout 120 "${COMPOSE[@]}" -p "$PROJECT" up -d --no-build --scale "worker=$KILL_WORKERS" \
  >"$WORK/compose.log" 2>&1) || fail "compose up -d (kill scenario) failed"
MASTER_ID="$(cd "$ROOT" && "${COMPOSE[@]}" -p "$PROJECT" ps -q master)"
KILLED=""
for _ in $(seq 1 "$RUN_TIMEOUT"); do
  docker logs "$MASTER_ID" >"$WORK/kill.log" 2>&1 || true
  grep -q '"msg":"summary"' "$WORK/kill.log" && fail "the run ended before its first checkpoint: nothing to kill"
  if grep -qE "$MIDRUN" "$WORK/kill.log"; then crash "$MASTER_ID" && KILLED=1 && break; fi
  sleep 1
done
[ -n "$KILLED" ] || fail "the master wrote no checkpoint in ${RUN_TIMEOUT}s"
ST=""
DOWN=0 # seconds seen dead and not restarted: the engine restarts a crashed container within a second
for _ in $(seq 1 "$RUN_TIMEOUT"); do
  ST="$(docker inspect -f '{{.State.Status}} {{.State.ExitCode}} {{.RestartCount}}' "$MASTER_ID")"
  case "$ST" in "exited "*" 0") DOWN=$((DOWN + 1)); [ $DOWN -lt 30 ] || break ;; exited*) break ;; esac
  sleep 1
done
log "the killed master: status, exit code, restarts = $ST"
[ "$ST" = "exited 0 1" ] || { tail -20 "$WORK/kill.log" >&2; fail "the master is '$ST', not 'exited 0' after 1 restart"; }
docker logs "$MASTER_ID" >"$WORK/kill.log" 2>&1 || true
check_resumed "$WORK/kill.log" "$KILL_WORKERS" || fail "the restarted master did not resume to the target (see above)"
for _ in $(seq 1 60); do
  RUNNING="$(cd "$ROOT" && "${COMPOSE[@]}" -p "$PROJECT" ps -q worker | xargs docker inspect -f '{{.State.Running}}' | grep -c true || true)"
  [ "$RUNNING" = 0 ] && break
  sleep 1
done
for id in $(cd "$ROOT" && "${COMPOSE[@]}" -p "$PROJECT" ps -q); do
  st="$(docker inspect -f '{{.Name}} {{.State.Status}} {{.State.ExitCode}}' "$id")"
  case "$st" in *" exited 0") ;; *) fail "after the master's crash and resume: $st" ;; esac
done

# ---- 5. more workers than shards, then fewer -------------------------------------------------------
log "more workers than shards: SODA_WORKERS=2, --scale worker=3"
set +e
(cd "$ROOT" && SODA_WORKERS=2 SODA_CHECKPOINT=/data/out/standby.soda timeout 300 "${COMPOSE[@]}" -p "$PROJECT" up --no-build --no-color \
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
(cd "$ROOT" && SODA_WORKERS=3 SODA_CHECKPOINT=/data/out/fewer.soda timeout 120 "${COMPOSE[@]}" -p "$PROJECT" up -d --no-build --scale worker=2 \
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
# ---- 6. pre-split shards (docker-compose.shards.yml): the master holds no data -----------------------
# The input is written on a host folder (owned by the image's uid 1000), split by the `split` service
# into the project's shards volume, and trained on by SHARDS workers, each reading its own part; the
# master (no data, no F*) must stop on the duality gap.
SHARDS="${E2E_SHARDS:-4}"
mkdir -p "$WORK/in" && chown 1000:1000 "$WORK/in"
docker run --rm -v "$WORK/in:/in" "$IMAGE" data gen text --like rcv1 --rows "$ROWS" --out /in/e2e.svm \
  >"$WORK/gen2.log" 2>&1 || { tail -20 "$WORK/gen2.log" >&2; fail "soda data gen on the host folder failed"; }
SHARDS_COMPOSE=("${COMPOSE[@]}" -f docker-compose.yml -f docker-compose.shards.yml -p "$PROJECT")
log "splitting into $SHARDS parts in the shards volume (compose run split data split ...)"
(cd "$ROOT" && SODA_INPUT="$WORK/in" timeout 300 "${SHARDS_COMPOSE[@]}" run --rm --no-deps -T split \
  data split /in/e2e.svm --parts "$SHARDS" --out-dir /shards) >"$WORK/split.log" 2>&1 ||
  { tail -20 "$WORK/split.log" >&2; fail "compose run split failed"; }
# check_gap_summary LOG M: the master's summary says the gap stopped a run of M workers without F*
check_gap_summary() {
  node - "$1" "$2" "$TOL" <<'EOF2'
const [file, workers, tol] = process.argv.slice(2);
const recs = require('fs').readFileSync(file, 'utf8').split('\n')
  .map((l) => l.slice(l.indexOf('{'))).filter((l) => l.startsWith('{'))
  .map((l) => { try { return JSON.parse(l); } catch { return {}; } });
const start = recs.find((r) => r.msg === 'start');
const s = recs.find((r) => r.msg === 'summary');
if (!start || !s) { console.error('no start or summary line'); process.exit(1); }
console.log(`start: stopRule=${start.stopRule} m=${start.m} n=${start.n}; summary: reason=${s.reason} ` +
  `gapRel=${s.gapRel} objective=${s.objective} workers=${s.workers} epochs=${s.epochs}`);
const errs = [];
if (start.fstar !== null) errs.push(`fstar ${start.fstar} (the master should have none)`);
if (!String(start.stopRule).includes('gap')) errs.push(`stopRule ${start.stopRule}`);
if (s.reason !== 'tol-gap') errs.push(`reason ${s.reason} (expected tol-gap)`);
if (!(typeof s.gapRel === 'number' && s.gapRel <= Number(tol))) errs.push(`gapRel ${s.gapRel} > ${tol}`);
if (s.workers !== Number(workers)) errs.push(`workers ${s.workers} != ${workers}`);
if (errs.length) { console.error(errs.join('; ')); process.exit(1); }
EOF2
}
log "compose up (shards): $SHARDS workers reading their parts, the master without data"
set +e
(cd "$ROOT" && SODA_WORKERS="$SHARDS" SODA_CHECKPOINT=/data/out/shards.soda timeout "$RUN_TIMEOUT" "${SHARDS_COMPOSE[@]}" up --no-build --no-color \
  --scale "worker=$SHARDS" --abort-on-container-exit master worker >"$WORK/compose.log" 2>&1)
UP_RC=$?
set -e
[ $UP_RC -eq 0 ] || fail "compose up with docker-compose.shards.yml exited $UP_RC"
MASTER_ID="$(cd "$ROOT" && "${SHARDS_COMPOSE[@]}" ps -q master)"
docker logs "$MASTER_ID" >"$WORK/master4.log" 2>&1 || true
check_gap_summary "$WORK/master4.log" "$SHARDS" || fail "the sharded run's summary is not a gap stop (see above)"
if docker inspect -f '{{range .Mounts}}{{.Destination}} {{end}}' "$MASTER_ID" | grep -q /shards; then
  fail "the master mounts the shards volume"
fi
(cd "$ROOT" && timeout 120 "${SHARDS_COMPOSE[@]}" down -v --remove-orphans -t 5 >/dev/null 2>&1) || true

# ---- 7. the same on a single-node Swarm: docker stack deploy, workers scaled ------------------------
# The shards sit in a host folder bind-mounted into every worker (a one-node swarm; on several nodes
# it would be shared storage). One more worker than shards is scaled in: a spare that waits. The
# override is written here rather than taken from docker-compose.shards.yml, whose `split` service uses
# `profiles`, a key the stack file schema may refuse.
STACK="soda$$"
SWARM_INIT=""
if [ "$(docker info -f '{{.Swarm.LocalNodeState}}')" != active ]; then
  docker swarm init --advertise-addr 127.0.0.1 >"$WORK/swarm.log" 2>&1 || { cat "$WORK/swarm.log" >&2; fail "docker swarm init failed"; }
  SWARM_INIT=1
fi
swarm_cleanup() {
  docker stack rm "$STACK" >/dev/null 2>&1 || true # (an EXIT trap runs under set -e: nothing may fail)
  if [ -n "$SWARM_INIT" ]; then docker swarm leave --force >/dev/null 2>&1 || true; fi
}
# (set +e: an EXIT trap runs under set -e, and a failing step would skip the rest of the teardown)
trap 'rc=$?; set +e; swarm_cleanup; (exit $rc); cleanup' EXIT
mkdir -p "$WORK/shards" && chown 1000:1000 "$WORK/shards"
docker run --rm -v "$WORK/in:/in:ro" -v "$WORK/shards:/shards" "$IMAGE" \
  data split /in/e2e.svm --parts "$SHARDS" --out-dir /shards >"$WORK/split2.log" 2>&1 ||
  { tail -20 "$WORK/split2.log" >&2; fail "data split into the host folder failed"; }
cat >"$WORK/stack-shards.yml" <<EOF3
services:
  master:
    environment:
      SODA_DATA_AT_WORKERS: 'true'
  worker:
    environment:
      SODA_DATA: /shards/part-{shard}.svm
    volumes:
      - $WORK/shards:/shards:ro
    deploy:
      replicas: $((SHARDS + 1))
EOF3
log "docker stack deploy $STACK: $SHARDS shards, workers scaled to $((SHARDS + 1))"
# ipvs may be missing (no VIP): workers reach the master's task by DNS; the swarm publishes a port
# without a host address
(cd "$ROOT" && SODA_WORKERS="$SHARDS" SODA_MASTER="ws://tasks.master:7070" SODA_DATA='' SODA_DATASET='' \
  SODA_PUBLISH=17070 timeout 120 docker stack deploy -c docker-compose.yml -c "$WORK/stack-shards.yml" \
  "$STACK") >"$WORK/stack.log" 2>&1 || { cat "$WORK/stack.log" >&2; fail "docker stack deploy failed"; }
# (the replicas come from the override, not `docker service scale`: that waits for every task to be
# running, and workers that finished their run never are again)
STATE=""
for _ in $(seq 1 "$RUN_TIMEOUT"); do
  STATE="$(docker service ps --format '{{.CurrentState}}' "${STACK}_master" 2>/dev/null | head -1)"
  case "$STATE" in Complete*|Failed*|Rejected*) break ;; esac
  sleep 1
done
docker service logs --raw "${STACK}_master" >"$WORK/master5.log" 2>&1 || true
case "$STATE" in Complete*) ;; *) tail -20 "$WORK/master5.log" >&2; fail "the swarm master's task is '$STATE', not Complete" ;; esac
check_gap_summary "$WORK/master5.log" "$SHARDS" || fail "the swarm run's summary is not a gap stop (see above)"
grep -q '"msg":"worker on standby"' "$WORK/master5.log" || fail "the swarm run had no spare on standby"
docker stack rm "$STACK" >/dev/null 2>&1
# wait until it is gone: an overlay network still being removed can clash with the next stack's
for _ in $(seq 1 60); do
  [ -z "$(docker network ls -q --filter "label=com.docker.stack.namespace=$STACK")$(docker ps -aq --filter \
    "label=com.docker.stack.namespace=$STACK")" ] && break
  sleep 1
done

# ---- 8. the master killed mid-run on the Swarm: a new task resumes ---------------------------------
# The master holds the data (the e2e file, bind-mounted), so that a restarted one can resume.
STACK2="sodakill$$"
# on failure: what the workers were doing, then the stack, the swarm and the rest torn down
swarm_kill_cleanup() {
  if [ "$1" -ne 0 ]; then
    docker service ps --no-trunc "${STACK2}_worker" >&2 2>&1 || true
    docker service logs --raw --tail 5 "${STACK2}_worker" >&2 2>&1 || true
  fi
  docker stack rm "$STACK2" >/dev/null 2>&1 || true
  swarm_cleanup
}
trap 'rc=$?; set +e; swarm_kill_cleanup $rc; (exit $rc); cleanup' EXIT
cat >"$WORK/stack-kill.yml" <<EOF4
services:
  master:
    environment:
      SODA_DATA: /in/e2e.svm
      SODA_CHECKPOINT_EVERY: '1'
      SODA_DELAY_MS: '20'
    volumes:
      - $WORK/in:/in:ro
  worker:
    deploy:
      replicas: $KILL_WORKERS
EOF4
log "docker stack deploy $STACK2: $KILL_WORKERS workers; the master's container is killed at a checkpoint past k = 0"
# SODA_DATA='': a stack takes an empty value from the shell (where section 4 set the compose file's)
(cd "$ROOT" && SODA_WORKERS="$KILL_WORKERS" SODA_MASTER="ws://tasks.master:7070" SODA_DATASET='' SODA_DATA='' \
  SODA_PUBLISH=17071 timeout 120 docker stack deploy -c docker-compose.yml -c "$WORK/stack-kill.yml" \
  "$STACK2") >"$WORK/stack.log" 2>&1 || { cat "$WORK/stack.log" >&2; fail "docker stack deploy ($STACK2) failed"; }
KILLED=""
for _ in $(seq 1 "$RUN_TIMEOUT"); do
  CID="$(docker ps -q --filter "label=com.docker.swarm.service.name=${STACK2}_master" | head -1)"
  if [ -n "$CID" ]; then
    docker logs "$CID" >"$WORK/kill2.log" 2>&1 || true
    grep -q '"msg":"summary"' "$WORK/kill2.log" && fail "the swarm run ended before its first checkpoint"
    if grep -qE "$MIDRUN" "$WORK/kill2.log"; then crash "$CID" && KILLED=1 && break; fi
  fi
  sleep 1
done
[ -n "$KILLED" ] || { tail -20 "$WORK/kill2.log" >&2; fail "the swarm master wrote no checkpoint in ${RUN_TIMEOUT}s"; }
STATE=""
for _ in $(seq 1 "$RUN_TIMEOUT"); do
  STATE="$(docker service ps --format '{{.CurrentState}}' "${STACK2}_master" 2>/dev/null | tr '\n' ',')"
  case "$STATE" in *Complete*) break ;; esac
  sleep 1
done
docker service logs --raw "${STACK2}_master" >"$WORK/master6.log" 2>&1 || true
TASKS="$(tr ',' '\n' <<<"$STATE" | cut -d' ' -f1 | grep . | sort | tr '\n' ' ')"
log "the swarm master's tasks: $STATE"
[ "$TASKS" = "Complete Failed " ] ||
  { tail -20 "$WORK/master6.log" >&2; fail "the swarm master's tasks are '$TASKS', not the killed one (Failed) and a Complete one"; }
check_resumed "$WORK/master6.log" "$KILL_WORKERS" || fail "the swarm's new master task did not resume to the target"
WSTATE=""
for _ in $(seq 1 60); do
  WSTATE="$(docker service ps --format '{{.CurrentState}}' "${STACK2}_worker" | cut -d' ' -f1 | sort | uniq -c | tr -s ' ' | tr '\n' ',')"
  [ "$WSTATE" = " $KILL_WORKERS Complete," ] && break
  sleep 1
done
[ "$WSTATE" = " $KILL_WORKERS Complete," ] || fail "the swarm workers' tasks are '$WSTATE', not $KILL_WORKERS Complete"
docker stack rm "$STACK2" >/dev/null 2>&1
swarm_cleanup
trap cleanup EXIT
log "image ${SIZE_MB} MB; $WORKERS workers reached subopt <= $TOL; all $((WORKERS + 1)) containers exited 0;"
log "a standby worker exited 0; a master short of workers waited, healthy, and stopped cleanly on SIGTERM;"
log "pre-split shards (compose and a one-node swarm): masters without data stopped on the gap;"
log "a master killed mid-run was restarted by the engine and resumed to the target (compose and swarm)"
