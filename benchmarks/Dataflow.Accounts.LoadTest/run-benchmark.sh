#!/usr/bin/env bash
# Accounts benchmark, everything in one run on this machine (loopback only, bounded durations):
#   1. a throwaway PostgreSQL 15 with default durability (fsync on) on local disk;
#   2. the service as deployed (the trimmed self-contained publish) on it; pgbench with the equivalent scripts at the same concurrency;
#   3. non-conflicting deposits without barrier (wrk, then the load program) vs pgbench (alternating, two passes),
#      then the load program's three reference scenarios (8 threads x 1000 operations, barrier per round);
#   4. wrk GET of an account with 120 events vs pgbench's prepared read; the service's peak RSS;
#   5. the in-memory store: the three scenarios (8 threads x MEMORY_OPS, default 15000) repeated 5 times (flatness), in
#      MEMORY_SERIES (default 3) series, each on a fresh instance after warm-up; the median of the series per
#      repetition, so that a burst of the VM's background load during one series does not pass for a trend.
# Usage: benchmarks/Dataflow.Accounts.LoadTest/run-benchmark.sh [seconds-per-measurement, default 15] [all|postgresql|memory]
set -euo pipefail
SECONDS_PER_RUN=${1:-15}
PART=${2:-all}
MEMORY_OPS=${MEMORY_OPS:-15000}
MEMORY_SERIES=${MEMORY_SERIES:-3}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
ART=${ACCOUNTS_BENCH_ARTIFACTS:-/tmp/art-accounts-bench}
PGBIN=/usr/lib/postgresql/15/bin
HERE="$ROOT/benchmarks/Dataflow.Accounts.LoadTest"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
wait_ready() { for _ in $(seq 1 100); do curl -fs "$1/readyz" >/dev/null 2>&1 && return 0; sleep 0.2; done; echo "not ready: $1" >&2; return 1; }
# RSS counts the shared, read-only pages of the .NET runtime files too; PSS splits those between processes.
rss() {
  awk '/VmHWM|VmRSS/ {printf "%s %d MB  ", $1, $2/1024}' "/proc/$1/status"
  awk '/^Pss:|^Private_Clean|^Private_Dirty/ {printf "%s %d MB  ", $1, $2/1024}' "/proc/$1/smaps_rollup"; echo
}

echo "== publish the service as deployed (trimmed, self-contained) and build the load program (Release)"
dotnet publish "$ROOT/services/Dataflow.Accounts" -c Release -r linux-x64 -o "$ART/publish" --artifacts-path "$ART" -v q -nologo | tail -n 2
dotnet build "$ROOT/benchmarks/Dataflow.Accounts.LoadTest" -c Release --artifacts-path "$ART" -v q -nologo | tail -n 2
SERVICE="$ART/publish/Dataflow.Accounts"
LOAD="$ART/bin/Dataflow.Accounts.LoadTest/release/Dataflow.Accounts.LoadTest.dll"

WORK=$(mktemp -d /tmp/accounts-bench-XXXXXX); chmod 755 "$WORK"; chown postgres:postgres "$WORK"
PGPORT=$(free_port); SVC_PORT=$(free_port)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  runuser -u postgres -- "$PGBIN/pg_ctl" -D "$WORK/data" -m fast stop >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
load() { dotnet "$LOAD" --url "http://127.0.0.1:$1" "${@:2}"; }

# Steps 1-4: PostgreSQL, pgbench, wrk and the load program.
postgresql_part() {
  echo "== PostgreSQL 15 (default durability) on port $PGPORT"
  runuser -u postgres -- "$PGBIN/initdb" -D "$WORK/data" -U postgres -A trust -E UTF8 >/dev/null
  runuser -u postgres -- "$PGBIN/pg_ctl" -D "$WORK/data" -w -l "$WORK/pg.log" \
    -o "-p $PGPORT -c listen_addresses=127.0.0.1 -k $WORK -c max_connections=200" start >/dev/null
  "$PGBIN/createdb" -h 127.0.0.1 -p "$PGPORT" -U postgres accounts
  runuser -u postgres -- "$PGBIN/postgres" --version

  echo "== service on port $SVC_PORT (PostgreSql)"
  ASPNETCORE_URLS="http://127.0.0.1:$SVC_PORT" ConnectionStrings__accounts="Host=127.0.0.1;Port=$PGPORT;Username=postgres;Database=accounts" \
    Accounts__Provider=PostgreSql Logging__LogLevel__Default=Warning "$SERVICE" >"$WORK/service.log" 2>&1 &
  SVC_PID=$!; PIDS+=("$SVC_PID")
  wait_ready "http://127.0.0.1:$SVC_PORT"
  # Warm-up (JIT, pool, prepared statements) outside the measurements.
  load "$SVC_PORT" --threads 8 --ops 500 --scenarios non-conflicting >/dev/null

  # The machine is shared: pgbench and the service alternate twice so both see the same background load.
  pgbench_write() {
    "$PGBIN/pgbench" -h 127.0.0.1 -p "$PGPORT" -U postgres -n -M prepared -c 8 -j 2 -T "$SECONDS_PER_RUN" -f "$HERE/pgbench-write.sql" accounts 2>&1 \
      | grep -E "^(tps|latency average)"
  }
  # The service side of the ratio is driven by wrk, a C client as light as pgbench's own, so the comparison is not
  # skewed by the load generator's CPU on the shared 2 cores; the load program then gives latency and CPU per operation.
  wrk_deposits() {
    local ids=() id before after out counted
    for _ in $(seq 1 8); do
      id=$(cat /proc/sys/kernel/random/uuid)
      curl -fs -X POST "http://127.0.0.1:$SVC_PORT/api/account/$id?owner=$(cat /proc/sys/kernel/random/uuid)" -o /dev/null
      ids+=("$id")
    done
    out=$(ACCOUNTS=$(IFS=,; echo "${ids[*]}") wrk -t8 -c8 -d"${SECONDS_PER_RUN}s" --latency -s "$HERE/deposit.lua" "http://127.0.0.1:$SVC_PORT")
    echo "$out" | grep -E "Requests/sec|50%|99%|Non-2xx"
    counted=$(( $(echo "$out" | awk '/requests in/ {print $1}') - $(echo "$out" | awk '/Non-2xx/ {print $5}' | grep . || echo 0) ))
    after=0
    for id in "${ids[@]}"; do
      after=$(( after + $(curl -fs "http://127.0.0.1:$SVC_PORT/api/account/$id" | grep -o '"balance":[0-9]*' | cut -d: -f2) ))
    done
    # wrk does not count the requests still in flight when it stops (at most one per connection).
    if (( after >= counted && after <= counted + 8 )); then
      echo "balances OK: $after deposited for $counted successful responses counted by wrk"
    else
      echo "balances WRONG: $after deposited for $counted successful responses counted by wrk" >&2; exit 1
    fi
  }
  for pass in 1 2; do
    echo "== pass $pass: non-conflicting deposits, 8 clients: pgbench reference (read latest events + insert one row, one transaction)"
    pgbench_write
    echo "== pass $pass: service non-conflicting deposits, wrk -t8 -c8 (one account per connection, fresh transaction ids)"
    wrk_deposits
    echo "== pass $pass: the same through the load program (8 threads x 1000, no barrier): latency and service CPU per deposit"
    load "$SVC_PORT" --threads 8 --ops 1000 --scenarios non-conflicting --no-barrier --service-pid "$SVC_PID"
  done
  echo "== service scenarios on PostgreSQL (8 threads x 1000, barrier per round, as the reference stress test)"
  load "$SVC_PORT" --threads 8 --ops 1000 --service-pid "$SVC_PID"
  echo "service RSS after write load: $(rss "$SVC_PID")"

  echo "== GET of an account with 120 events"
  ACCOUNT=$(cat /proc/sys/kernel/random/uuid)
  load "$SVC_PORT" --seed-events "$ACCOUNT:120"
  curl -fs "http://127.0.0.1:$SVC_PORT/api/account/$ACCOUNT"; echo
  # Warm-up of the read path (tiered JIT) outside the measurements.
  wrk -t2 -c16 -d5s "http://127.0.0.1:$SVC_PORT/api/account/$ACCOUNT" >/dev/null
  for pass in 1 2; do
    echo "-- pass $pass: pgbench prepared read (16 clients)"
    "$PGBIN/pgbench" -h 127.0.0.1 -p "$PGPORT" -U postgres -n -M prepared -c 16 -j 2 -T "$SECONDS_PER_RUN" -D "aid=$ACCOUNT" -f "$HERE/pgbench-read.sql" accounts 2>&1 \
      | grep -E "^(tps|latency average)"
    echo "-- pass $pass: wrk GET (16 connections)"
    wrk -t2 -c16 -d"${SECONDS_PER_RUN}s" --latency "http://127.0.0.1:$SVC_PORT/api/account/$ACCOUNT" | grep -E "Requests/sec|Latency|50%|99%|Non-2xx"
  done
  echo "service RSS after read load: $(rss "$SVC_PID")"
}

memory_series() {
  local series=$1 port pid
  port=$(free_port)
  ASPNETCORE_URLS="http://127.0.0.1:$port" Logging__LogLevel__Default=Warning "$SERVICE" >"$WORK/memory-$series.log" 2>&1 &
  pid=$!; PIDS+=("$pid")
  wait_ready "http://127.0.0.1:$port"
  load "$port" --threads 8 --ops 3000 --repetitions 2 >/dev/null   # the service's warm-up: tiered JIT settles
  load "$port" --threads 8 --ops "$MEMORY_OPS" --repetitions 5 --warm-up-ops 1000 --service-pid "$pid" | tee "$WORK/memory-$series.txt"
  echo "in-memory service RSS: $(rss "$pid")"
  kill "$pid"; wait "$pid" 2>/dev/null || true
}
case $PART in all|postgresql) postgresql_part ;; memory) ;; *) echo "unknown part: $PART (all|postgresql|memory)" >&2; exit 2 ;; esac
[[ $PART == postgresql ]] && exit 0
for series in $(seq 1 "$MEMORY_SERIES"); do
  echo "== in-memory store, series $series: three scenarios (8 x $MEMORY_OPS) x 5 repetitions on a fresh instance"
  memory_series "$series"
done
echo "== in-memory store: median of the $MEMORY_SERIES series per repetition (ops/s; idempotent: rounds/s)"
cat "$WORK"/memory-*.txt | awk '
  { for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
    key = f["scenario"] SUBSEP f["rep"]; n[key]++; v[key, n[key]] = f["ops/s"]; scenarios[f["scenario"]] = 1 }
  function median(key,   a, i, j, t, c) {
    c = n[key]; for (i = 1; i <= c; i++) a[i] = v[key, i]
    for (i = 1; i <= c; i++) for (j = i + 1; j <= c; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
    return c % 2 ? a[(c + 1) / 2] : (a[c / 2] + a[c / 2 + 1]) / 2 }
  END { for (s in scenarios) { line = sprintf("%-16s", s); lo = hi = first = median(s SUBSEP 1)
          for (r = 1; r <= 5; r++) { m = median(s SUBSEP r); line = line sprintf(" rep%d=%.0f", r, m); if (m < lo) lo = m; if (m > hi) hi = m }
          printf "%s  rep5/rep1=%.2f  lowest/first=%.2f  highest/first=%.2f\n", line, m / first, lo / first, hi / first } }'
