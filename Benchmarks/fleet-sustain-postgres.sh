#!/usr/bin/env bash
# Benchmark: the largest fleet lamp-ingest sustains on PostgreSQL with REPLICAS replicas behind
# nginx (round robin, deploy/nginx/lamp-ingest.conf with TLS taken out: plain HTTP on loopback;
# in a city TLS ends at nginx), or, for comparison, on SQLite (one process, no nginx).
# It starts a throwaway PostgreSQL cluster (scripts/postgres-test-cluster), runs
# `lamp-ingest migrate`, the replicas, nginx and `lamp-fleet run` (docs/fleet-simulator.md), then
# prints lamp-fleet's report, the CPU seconds each process used during the run (lamp-fleet, each
# replica, PostgreSQL's server processes together, nginx), the store's own count against the plan
# (`lamp-ingest status --json`: every record exactly once) and the bytes on disk per table.
# Everything is stopped and removed at the end.
#
# Usage: Benchmarks/fleet-sustain-postgres.sh [BOARDS] [MINUTES] [MINUTE_MS]
#        (defaults: 2000, 2, 60000 = real time)
# Environment:
#   STORE=postgres|sqlite      (postgres)
#   REPLICAS=N                 lamp-ingest processes (2; with 1, no nginx unless NGINX=1)
#   POOL_SIZE=N                --pool-size of each replica (10)
#   FLEET_CONCURRENCY=N        boards delivering at once (256)
#   PG_SETTINGS="a=b c=d"      ALTER SYSTEM before the run, e.g. "synchronous_commit=off"
#   PERF_SECONDS=N             perf record -g N seconds on replica 1 and on PostgreSQL, from
#                              the run's middle; reports left in PERF_DIR (default /tmp/fleet-perf)
#   CONFIGURATION=release      which .build/ binaries (built first unless FLEET_NO_BUILD=1)
set -euo pipefail
cd "$(dirname "$0")/.."
boards=${1:-2000}
minutes=${2:-2}
minute_ms=${3:-60000}
store_kind=${STORE:-postgres}
replicas=${REPLICAS:-2}
pool_size=${POOL_SIZE:-10}
configuration=${CONFIGURATION:-release}
if [ -z "${FLEET_NO_BUILD:-}" ]; then
    swift build -c "$configuration" --product lamp-ingest >/dev/null
    swift build -c "$configuration" --product lamp-fleet >/dev/null
fi
bin="$PWD/.build/$configuration"
work=$(mktemp -d /tmp/fleet-sustain-XXXXXX)
chmod 755 "$work"
export LAMPD_PG_CLUSTER_STATE="$work/postgres.env"
pids=()
cleanup() {
    kill "${pids[@]}" 2>/dev/null || true
    wait "${pids[@]}" 2>/dev/null || true
    scripts/postgres-test-cluster stop || true
    rm -rf "$work"
}
trap cleanup EXIT
echo "load before: $(uptime)"
options=(--boards "$boards" --minutes "$minutes" --seed 1)
"$bin/lamp-fleet" keys "${options[@]}" --out "$work/keys" >/dev/null

# CPU seconds (user + system) of a process; with "tree", plus its reaped children's.
cpu_ticks() { awk -v tree="${2:-}" '{ print $14 + $15 + (tree ? $16 + $17 : 0) }' "/proc/$1/stat" 2>/dev/null || echo 0; }
# PostgreSQL's server processes: the postmaster (with its exited backends) and its children.
postgres_ticks() {
    local master total=0 pid
    master=$(head -1 "$PG_DATA/postmaster.pid")
    total=$(cpu_ticks "$master" tree)
    for pid in $(ps -o pid= --ppid "$master"); do total=$((total + $(cpu_ticks "$pid"))); done
    echo "$total"
}
nginx_ticks() {
    local total=0 pid
    for pid in $(cat "$work/nginx/nginx.pid" 2>/dev/null) $(ps -o pid= --ppid "$(cat "$work/nginx/nginx.pid" 2>/dev/null || echo 1)" 2>/dev/null); do
        total=$((total + $(cpu_ticks "$pid")))
    done
    echo "$total"
}
hz=$(getconf CLK_TCK)
seconds_of() { echo "scale=1; $1 / $hz" | bc; }

if [ "$store_kind" = postgres ]; then
    url=$(scripts/postgres-test-cluster start)
    # shellcheck disable=SC1090
    source "$LAMPD_PG_CLUSTER_STATE"
    for setting in ${PG_SETTINGS:-}; do psql -q "$url" -c "ALTER SYSTEM SET ${setting%%=*} = '${setting#*=}'"; done
    [ -z "${PG_SETTINGS:-}" ] || psql -q "$url" -c "SELECT pg_reload_conf()" >/dev/null
    echo "PostgreSQL: $(psql -tA "$url" -c "SELECT version()" | cut -d' ' -f1-2), fsync $(psql -tA "$url" -c 'SHOW fsync'), synchronous_commit $(psql -tA "$url" -c 'SHOW synchronous_commit'), shared_buffers $(psql -tA "$url" -c 'SHOW shared_buffers')"
    LAMP_INGEST_STORE=$url "$bin/lamp-ingest" migrate
    store_options=(--store "$url" --pool-size "$pool_size")
else
    replicas=1
    store_options=(--store "$work/ingest.sqlite")
fi

ports=()
replica_pids=()
for index in $(seq "$replicas"); do
    "$bin/lamp-ingest" serve "${store_options[@]}" --keys "$work/keys" --host 127.0.0.1 --port 0 >"$work/replica-$index.log" 2>&1 &
    replica_pids+=($!)
    pids+=($!)
done
for index in $(seq "$replicas"); do
    for _ in $(seq 1200); do grep -q "listening on" "$work/replica-$index.log" && break; sleep 0.25; done
    port=$(grep -o "listening on [0-9.]*:[0-9]*" "$work/replica-$index.log" | head -1 | sed 's/.*://') ||
        { echo "replica $index did not start:"; cat "$work/replica-$index.log"; exit 1; }
    ports+=("$port")
done
echo "replicas listening on ${ports[*]} ($boards enrolled keys, pool $pool_size each)"

target_port=${ports[0]}
if [ "$replicas" -gt 1 ] || [ -n "${NGINX:-}" ]; then
    # The reference configuration, with the replicas' ports, a free port and no TLS.
    mkdir -p "$work/nginx"
    target_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    servers=""
    for port in "${ports[@]}"; do servers+="    server 127.0.0.1:$port max_fails=1 fail_timeout=5s;\n"; done
    sed -e '/server 127.0.0.1:844[34]/d' -e '/ssl_/d' \
        -e "s|listen 443 ssl;|listen 127.0.0.1:$target_port;|" \
        -e "s|upstream lamp_ingest {|upstream lamp_ingest {\n$servers|" \
        deploy/nginx/lamp-ingest.conf >"$work/nginx/lamp-ingest.conf"
    cat >"$work/nginx/nginx.conf" <<EOF
worker_processes 1;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log notice;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $work/nginx/client_body;
    proxy_temp_path $work/nginx/proxy;
    fastcgi_temp_path $work/nginx/fastcgi;
    uwsgi_temp_path $work/nginx/uwsgi;
    scgi_temp_path $work/nginx/scgi;
    include $work/nginx/lamp-ingest.conf;
}
EOF
    /usr/sbin/nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" -e "$work/nginx/error.log" -g 'daemon off;' &
    pids+=($!)
    for _ in $(seq 100); do [ -s "$work/nginx/nginx.pid" ] && break; sleep 0.1; done
    echo "nginx on 127.0.0.1:$target_port, round robin to ${#ports[@]} replicas"
fi
echo "plan: $("$bin/lamp-fleet" plan "${options[@]}")"

before_replicas=()
for pid in "${replica_pids[@]}"; do before_replicas+=("$(cpu_ticks "$pid")"); done
before_postgres=0
[ "$store_kind" != postgres ] || before_postgres=$(postgres_ticks)
before_nginx=$(nginx_ticks)
"$bin/lamp-fleet" run "${options[@]}" --url "http://127.0.0.1:$target_port/v1/batches" --minute-ms "$minute_ms" \
    --concurrency "${FLEET_CONCURRENCY:-256}" &
fleet=$!
pids+=($fleet)
if [ -n "${PERF_SECONDS:-}" ]; then
    perf_dir=${PERF_DIR:-/tmp/fleet-perf}
    mkdir -p "$perf_dir"
    (
        sleep "$(echo "$minutes * $minute_ms / 2000 - $PERF_SECONDS / 2" | bc)"
        postgres_pids=$(ps -o pid= --ppid "$(head -1 "$PG_DATA/postmaster.pid")" | tr -s ' \n' ',' | sed 's/^,//; s/,$//')
        perf record -F 499 -g -p "${replica_pids[0]}" -o "$perf_dir/replica.data" -- sleep "$PERF_SECONDS" >/dev/null 2>&1 &
        if [ "$store_kind" = postgres ]; then
            perf record -F 499 -g -p "$postgres_pids" -o "$perf_dir/postgres.data" -- sleep "$PERF_SECONDS" >/dev/null 2>&1 &
        fi
        wait
    ) &
    pids+=($!)
fi
fleet_ticks=0
while kill -0 "$fleet" 2>/dev/null; do fleet_ticks=$(cpu_ticks "$fleet"); sleep 1; done
wait "$fleet" || echo "lamp-fleet exited with $?"
cpu="CPU seconds during the run: lamp-fleet $(seconds_of "$fleet_ticks") (sampled to its last second)"
for index in "${!replica_pids[@]}"; do
    cpu+=", replica $((index + 1)) $(seconds_of $(($(cpu_ticks "${replica_pids[$index]}") - ${before_replicas[$index]})))"
done
[ "$store_kind" != postgres ] || cpu+=", postgres $(seconds_of $(($(postgres_ticks) - before_postgres)))"
[ ! -s "$work/nginx/nginx.pid" ] || cpu+=", nginx $(seconds_of $(($(nginx_ticks) - before_nginx)))"
echo "$cpu"
echo "load after: $(uptime)"
status_store=${url:-$work/ingest.sqlite}
"$bin/lamp-ingest" status --store "$status_store" --json |
    python3 -c 'import json,sys; d=json.load(sys.stdin); print("store: devices %d, batches %d, records %d, gaps %d" % (len(d), sum(x["batches"] for x in d), sum(x["records"] for x in d), sum(x["gaps"] for x in d)))'
if [ "$store_kind" = postgres ]; then
    echo "bytes on disk (pg_total_relation_size: table + indexes + TOAST):"
    psql -tA -F ' ' "$url" -c "SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c
        WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' AND pg_total_relation_size(c.oid) > 8192
        ORDER BY 2 DESC" | awk '{ total += $2; printf "  %-24s %12d\n", $1, $2 } END { printf "  %-24s %12d\n", "total", total }'
    echo "  WAL written: $(psql -tA "$url" -c "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')") bytes since initdb"
else
    echo "bytes on disk: SQLite $(du -cb "$work"/ingest.sqlite* | tail -1 | cut -f1) (file + WAL)"
fi
