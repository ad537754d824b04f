#!/bin/bash
# GET …/neighbors with wrk -c8 against three process models, alternating, on the same models and
# saved HNSW index: firth-serve at a git ref (default main), firth-serve of this checkout, and
# gunicorn's arbiter with uvicorn workers and --preload (models loaded before the fork).
# Needs wrk, a saved HNSW index in $FIRTH_INDEX_DIR, and gunicorn + uvicorn-worker on $GUNICORN_PATH
# (pip install --target DIR gunicorn uvicorn-worker). Prints req/s and how wrk's 8 connections
# spread over the workers (ss), which decides much of a run's figure.
#   bench/process_models.sh [REF] [ROUNDS]
set -euo pipefail
REF=${1:-main}
ROUNDS=${2:-2}
HERE=$(cd "$(dirname "$0")/.." && pwd)
PY=$HERE/.venv/bin/python
export FIRTH_MODELS=${FIRTH_MODELS:-$HERE/models/glove-6b-50d} FIRTH_BUILD_HNSW=0 FIRTH_LOG_LEVEL=warning FIRTH_WORKERS=2
: "${FIRTH_INDEX_DIR:?set FIRTH_INDEX_DIR to a directory holding a saved HNSW index}"
BEFORE=$(mktemp -d)
trap 'rm -rf "$BEFORE"' EXIT
git -C "$HERE" archive "$REF" service firth_core | tar -x -C "$BEFORE"
APP=$(mktemp -d)
trap 'rm -rf "$BEFORE" "$APP"' EXIT
cat > "$APP/gapp.py" <<'PY'
from firth_service.app import create_app
from firth_service.registry import load_registry
from firth_service.settings import Settings

settings = Settings()
app = create_app(settings, load_registry(settings))
PY
cat > "$APP/gconf.py" <<'PY'
import faiss


def post_fork(server, worker):  # as firth-serve does with several workers
    faiss.omp_set_num_threads(1)
PY
URL='/v1/models/default/neighbors?word=king&k=10'
for round in $(seq "$ROUNDS"); do
  for name in "$REF" this gunicorn; do
    port=$(( 20000 + RANDOM % 5000 ))
    case $name in
      this) (cd "$HERE" && exec "$PY" -m firth_service --port $port) & ;;
      gunicorn) (cd "$HERE" && PYTHONPATH="${GUNICORN_PATH:?}:$APP:$HERE" exec "$PY" -m gunicorn --preload -w 2 \
                  -k uvicorn_worker.UvicornWorker -b 127.0.0.1:$port -c "$APP/gconf.py" --log-level warning gapp:app) & ;;
      *) (cd "$BEFORE" && exec "$PY" -m firth_service --port $port) & ;;
    esac
    pid=$!
    for _ in $(seq 600); do curl -sf "localhost:$port/readyz" >/dev/null && break; sleep 0.2; done
    wrk -t2 -c8 -d2s "http://127.0.0.1:$port$URL" >/dev/null
    wrk -t2 -c8 -d10s "http://127.0.0.1:$port$URL" > "$APP/wrk.out" &
    sleep 5
    spread=$(ss -tnpH state established "( sport = :$port )" | grep -o 'pid=[0-9]*' | sort | uniq -c | awk '{print $1}' | tr '\n' '/')
    wait $!
    echo "round $round  $name  $(grep Requests/sec "$APP/wrk.out")  connections per worker: ${spread%/}"
    kill -TERM $pid; wait $pid || true
  done
done
