#!/usr/bin/env bash
# HTTP load test of the web pages on the git-list corpus (20,000 mails),
# on SQLite and on a throwaway PostgreSQL cluster: requests/s and p50/p99
# (wrk, 1 thread, 16 connections, 10 s, loopback, sharing the machine's 2
# cores with the server). Anonymous and logged in as a maintainer (whose
# pages add checkboxes, bulk forms, bundles and the to-do count).
#   bench/pages.sh [sqlite|postgres]...     (default: both)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
command -v wrk >/dev/null || { echo "wrk is needed (apt-get install wrk)"; exit 1; }
xz -dc "$corpus/git-list.mbox.xz" > "$work/git-list.mbox"

run() {  # $1 = label, $2 = database URL
    local db=$2 port
    "$bin" --database "$db" project add --linkname git --name Git --listid git.lists.example.org >/dev/null
    "$bin" --database "$db" parsearchive "$work/git-list.mbox" >/dev/null
    "$bin" --database "$db" user add maint --email maint@example.org --password bench --maintainer-of git >/dev/null
    # A live site's tables are vacuumed by autovacuum within a minute of an
    # import (setting the visibility map index-only scans need); do it now
    # rather than measure while it runs.
    case $db in postgres*) "$pgbin/psql" -q "$db" -c "VACUUM ANALYZE" ;; esac
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    "$bin" --database "$db" serve --listen "127.0.0.1:$port" 2>/dev/null &
    local server=$!
    local base="http://127.0.0.1:$port"
    until curl -sf "$base/api/" >/dev/null; do sleep 0.1; done
    # Log in as a browser does: the form's token, then the POST.
    local jar="$work/cookies"
    rm -f "$jar"
    token=$(curl -s -c "$jar" "$base/user/login/" | grep -o 'name="csrfmiddlewaretoken" value="[0-9a-f]*"' | head -1 | grep -o '[0-9a-f]\{64\}')
    curl -s -b "$jar" -c "$jar" -o /dev/null -d "csrfmiddlewaretoken=$token&username=maint&password=bench" "$base/user/login/"
    session=$(awk '$6 == "sessionid" {print $7}' "$jar")
    [ -n "$session" ] || { echo "login failed"; exit 1; }
    local patch series
    patch=$(curl -s "$base/api/patches/5000/" | python3 -c 'import json,sys; print(json.load(sys.stdin)["web_url"])')
    series=$(curl -s "$base/api/series/3000/" | python3 -c 'import json,sys; print(json.load(sys.stdin)["web_url"])')
    echo "## $1"
    echo "| page | who | requests/s | p50 | p99 |"
    echo "|---|---|---|---|---|"
    for spec in \
        "patch list (100 rows, action required)|/project/git/list/" \
        "patch list (100 rows, any state, page 20)|/project/git/list/?state=*&page=20" \
        "patch list, search \"rebase\"|/project/git/list/?q=rebase&state=*" \
        "patch page|${patch#http://127.0.0.1:$port}" \
        "series page|${series#http://127.0.0.1:$port}"; do
        IFS='|' read -r name path <<<"$spec"
        for who in anonymous maintainer; do
            local header=()
            [ "$who" = maintainer ] && header=(-H "Cookie: sessionid=$session")
            out=$(wrk -t1 -c16 -d10s --latency "${header[@]}" "$base$path")
            rps=$(awk '/Requests\/sec/ {print int($2)}' <<<"$out")
            p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
            p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
            echo "| $name | $who | $rps | $p50 | $p99 |"
        done
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
