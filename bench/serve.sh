#!/usr/bin/env bash
# HTTP load test of `patchtrack serve` on the git-list corpus, on SQLite
# and on a throwaway PostgreSQL cluster: requests/s and p50/p99 latency per
# endpoint (wrk, 1 thread, 16 connections, 10 s, loopback, on the same 2
# cores as the server), and the SQL statements one request issues with
# 1 and 250 items per page (from sqlx's statement log).
#   bench/serve.sh [sqlite|postgres]...     (default: both)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
command -v wrk >/dev/null || { echo "wrk is needed (apt-get install wrk)"; exit 1; }
xz -dc "$corpus/git-list.mbox.xz" > "$work/git-list.mbox"

run() {  # $1 = label, $2 = database URL
    local db=$2 port log
    "$bin" --database "$db" project add --linkname git --name Git --listid git.lists.example.org >/dev/null
    "$bin" --database "$db" parsearchive "$work/git-list.mbox" >/dev/null
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    log="$work/$1.log"
    PATCHTRACK_LOG=sqlx::query=debug "$bin" --database "$db" serve --listen "127.0.0.1:$port" 2>"$log" &
    local server=$!
    local base="http://127.0.0.1:$port"
    until curl -sf "$base/api/" >/dev/null; do sleep 0.1; done
    local mbox series_mbox
    mbox=$(curl -s "$base/api/patches/5000/" | python3 -c 'import json,sys; print(json.load(sys.stdin)["mbox"])')
    series_mbox=$(curl -s "$base/api/series/3000/" | python3 -c 'import json,sys; print(json.load(sys.stdin)["mbox"])')
    # The revision with the most patches among the first 250 v2 postings.
    revised=$(curl -s "$base/api/1.5/series/?version=2&per_page=250" | python3 -c '
import json, sys
s = [x for x in json.load(sys.stdin) if x["previous_versions"]]
print(max(s, key=lambda x: len(x["patches"]))["id"])')
    statements() {  # one request; statements it issued (after a warm-up one)
        curl -s -o /dev/null "$1"; sleep 0.3
        local before after
        before=$(grep -c 'sqlx::query' "$log" || true)
        curl -s -o /dev/null "$1"; sleep 0.3
        after=$(grep -c 'sqlx::query' "$log" || true)
        echo $((after - before))
    }
    echo "## $1"
    echo "| endpoint | requests/s | p50 | p99 | statements (1 / 250 per page) |"
    echo "|---|---|---|---|---|"
    for spec in \
        "patch list, 30 per page|/api/patches/?per_page=30|/api/patches/?per_page=1|/api/patches/?per_page=250" \
        "patch list, b4's query|/api/1.2/patches?project=git&state=new&state=under-review&order=-date&per_page=30&archived=false||" \
        "patch detail|/api/patches/5000/||" \
        "series list, 30 per page|/api/series/?per_page=30|/api/series/?per_page=1|/api/series/?per_page=250" \
        "series list 1.5 (states, versions), 30 per page|/api/1.5/series/?per_page=30|/api/1.5/series/?per_page=1|/api/1.5/series/?per_page=250" \
        "open series of the project, 1.5|/api/1.5/series/?project=git&open=true&per_page=30||" \
        "interdiff of series $revised|/api/1.5/series/$revised/interdiff/||" \
        "series list page|/project/git/series/||" \
        "events, 30 per page|/api/events/?per_page=30|/api/events/?per_page=1|/api/events/?per_page=250" \
        "patch mbox|${mbox#http://127.0.0.1:$port}||" \
        "series mbox|${series_mbox#http://127.0.0.1:$port}||"; do
        IFS='|' read -r name path small large <<<"$spec"
        out=$(wrk -t1 -c16 -d10s --latency "$base$path")
        rps=$(awk '/Requests\/sec/ {print int($2)}' <<<"$out")
        p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
        p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
        if [ -n "$small" ]; then
            counts="$(statements "$base$small") / $(statements "$base$large")"
        else
            counts="$(statements "$base$path")"
        fi
        echo "| $name | $rps | $p50 | $p99 | $counts |"
    done
    kill "$server"; wait "$server" 2>/dev/null || true
}

targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(sqlite postgres)
for t in "${targets[@]}"; do
    case $t in
        sqlite) run sqlite "sqlite://$work/bench.db" ;;
        postgres) start_postgres; run postgres "$pgurl" ;;
    esac
done
