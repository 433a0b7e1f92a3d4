# Sourced by bench/scale.sh for `run [ENGINE] [STAGE]...`: serves each
# cached database and times the requests real clients make with wrk
# (1 thread, 16 connections, 10 s each, on the same 2 cores as the
# server). Per request: requests/s, p50 and p99, and the server's CPU time
# (user + system, from /proc) divided by the requests it answered, which
# holds steady on a shared machine where wall-clock figures do not.
command -v wrk >/dev/null || { echo "wrk is needed (apt-get install wrk)"; exit 1; }
engine=${1:-sqlite}
shift || true
run_stages=("$@")
[ ${#run_stages[@]} -eq 0 ] && run_stages=(20k 200k 1m)
duration=${SCALE_DURATION:-10s}
[ "$engine" = postgres ] && pg_start

scalar() {  # $1 stage, $2 SQL answering one value
    case $engine in
        sqlite) sqlite3 "$cache/sqlite-$1.db" "$2" ;;
        postgres) "$pgbin/psql" -At "$(db_url postgres "$1")" -c "$2" ;;
    esac
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# On PostgreSQL the database's own work is in its backends: the CPU of the
# cluster's processes (the postmaster and its children) is counted too.
db_ticks() {
    [ "$engine" = postgres ] || { echo 0; return; }
    local master t=0 pid
    master=$(head -1 "$pgdir/data/postmaster.pid")
    for pid in $master $(pgrep -P "$master"); do
        t=$(( t + $(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0) ))
    done
    echo "$t"
}

for stage in "${run_stages[@]}"; do
    if [ ! -f "$cache/$engine-$stage.done" ]; then
        echo "scale: no $engine $stage database: run bench/scale.sh build $engine first" >&2
        exit 1
    fi
    url=$(db_url "$engine" "$stage")
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    base="http://127.0.0.1:$port"
    "$bin" --database "$url" serve --listen "127.0.0.1:$port" --no-xmlrpc 2>"$cache/serve.log" &
    server=$!
    until curl -sf "$base/api/" >/dev/null; do
        kill -0 "$server" 2>/dev/null || { cat "$cache/serve.log"; exit 1; }
        sleep 0.2
    done
    # serve refreshes the planner's statistics as it starts; on PostgreSQL
    # that ANALYZE runs in the cluster for seconds at 1M and would be
    # counted against the first requests timed.
    if [ "$engine" = postgres ]; then
        sleep 1
        while [ "$(scalar "$stage" "SELECT COUNT(*) FROM pg_stat_activity WHERE state = 'active' AND query ILIKE '%ANALYZE%' AND pid <> pg_backend_pid()")" != 0 ]; do
            sleep 0.5
        done
    fi
    patches=$(scalar "$stage" "SELECT COUNT(*) FROM patch")
    # Sample values from the middle of the archive.
    mid=$(scalar "$stage" "SELECT id FROM patch ORDER BY id LIMIT 1 OFFSET (SELECT COUNT(*) / 2 FROM patch)")
    msgid=$(scalar "$stage" "SELECT msgid FROM patch WHERE id = $mid" | tr -d '<>')
    hash=$(scalar "$stage" "SELECT hash FROM patch WHERE id >= $mid AND hash IS NOT NULL ORDER BY id LIMIT 1")
    submitter=$(scalar "$stage" "SELECT submitter_id FROM patch WHERE id = $mid")
    series=$(scalar "$stage" "SELECT series_id FROM patch WHERE id = $mid")
    delegate=$(scalar "$stage" "SELECT MIN(id) FROM app_user")
    since=$(curl -s "$base/api/events/?project=scale&per_page=1" |
        python3 -c 'import json,sys,datetime; d=json.load(sys.stdin)[0]["date"]; t=datetime.datetime.fromisoformat(d)-datetime.timedelta(days=2); print(t.isoformat())')
    echo
    echo "## $engine, $stage ($patches patches), $(git rev-parse --short HEAD)"
    echo
    echo "| request | requests/s | p50 | p99 | server CPU per request | database CPU per request |"
    echo "|---|---|---|---|---|---|"
    q=project=scale
    enc_msgid=$(python3 -c 'import sys,urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "<$msgid>")
    for spec in \
        "patch list (default)|/api/patches/?$q" \
        "patch list, action required, not archived|/api/1.2/patches/?$q&state=new&state=under-review&archived=false&order=-date" \
        "b4 backlog count (per_page=1)|/api/1.2/patches/?$q&state=new&state=under-review&order=-date&per_page=1&archived=false" \
        "patch list by submitter|/api/patches/?$q&submitter=$submitter" \
        "patch list by delegate|/api/patches/?$q&delegate=$delegate" \
        "patch list by state=accepted|/api/patches/?$q&state=accepted" \
        "patch list, middle page ($((patches / 60)))|/api/patches/?$q&page=$((patches / 60))" \
        "patch list, tenth page from the end|/api/patches/?$q&page=$(( (patches + 29) / 30 - 9))" \
        "patch by msgid|/api/1.2/patches/?$q&msgid=$enc_msgid" \
        "patch by hash|/api/1.2/patches/?$q&hash=$hash" \
        "series list|/api/series/?$q" \
        "events since 2 days|/api/events/?$q&since=$since" \
        "web list, 100 rows|/project/scale/list/" \
        "web list, state=* archive=both|/project/scale/list/?state=*&archive=both" \
        "patch page|/project/scale/patch/$msgid/" \
        "patch detail API|/api/patches/$mid/" \
        "series mbox|/series/$series/mbox/"; do
        IFS='|' read -r name path <<<"$spec"
        code=$(curl -s -o /dev/null -w '%{http_code}' "$base$path")
        if [ "$code" != 200 ]; then
            echo "| $name | HTTP $code for $path | | | | |"
            continue
        fi
        before=$(cpu_ticks "$server")
        db_before=$(db_ticks)
        out=$(wrk -t1 -c16 -d"$duration" --timeout 10s --latency "$base$path")
        after=$(cpu_ticks "$server")
        db_after=$(db_ticks)
        total=$(awk '/requests in/ {print $1}' <<<"$out")
        rps=$(awk '/Requests\/sec/ {print int($2)}' <<<"$out")
        p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
        p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
        cpu=$(python3 -c "import os; t=os.sysconf('SC_CLK_TCK'); print('%.2f ms' % (($after - $before) * 1000 / t / max($total, 1)))")
        dbcpu=$(python3 -c "import os; t=os.sysconf('SC_CLK_TCK'); print('%.2f ms' % (($db_after - $db_before) * 1000 / t / max($total, 1)))")
        [ "$engine" = postgres ] || dbcpu="(in the server)"
        echo "| $name | $rps | $p50 | $p99 | $cpu | $dbcpu |"
    done
    rss=$(awk '/VmHWM/ {print $2}' "/proc/$server/status")
    echo
    echo "server peak RSS: $(( rss / 1024 )) MB"
    kill "$server"
    wait "$server" 2>/dev/null || true
done
