#!/usr/bin/env bash
# Push figures of issue 15, release build, on SQLite (default) or a
# throwaway PostgreSQL cluster:
#  - webhook latency: one mail by `parsemail` (another process) until the
#    receiver has its first event, 20 times;
#  - webhook throughput: the first 1,000 mails of git-list imported with
#    1 receiver, then the first 200 with 100 receivers; events delivered
#    per second from the first delivery to the last, and the server's CPU;
#  - the event stream: 500 idle SSE subscribers on one node, the server's
#    resident memory before and after they connect, and how long one new
#    event takes to reach all of them.
# The receivers are one Python ThreadingHTTPServer (bench/push_tools.py).
#   bench/push.sh [sqlite|postgres]
set -euo pipefail
cd "$(dirname "$0")/.."
backend="${1:-sqlite}"
. bench/lib.sh
tools="$(pwd)/bench/push_tools.py"
tick=$(getconf CLK_TCK)
xz -dc "$corpus/git-list.mbox.xz" > "$work/all.mbox"
python3 "$tools" mbox "$work/all.mbox" 1000 "$work/m1000.mbox"
python3 "$tools" mbox "$work/all.mbox" 200 "$work/m200.mbox"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now() { date +%s.%N; }
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }

fresh_db() {  # $1 = name; prints a database URL with project git and a maintainer token in $work/token
    local db
    if [ "$backend" = postgres ]; then
        psql -h 127.0.0.1 -p "$pgport" -U postgres -qc "CREATE DATABASE $1" postgres >/dev/null
        db="postgres://postgres@127.0.0.1:$pgport/$1"
    else
        db="sqlite://$work/$1.db"
    fi
    "$bin" --database "$db" project add --linkname git --name Git --listid git.lists.example.org >/dev/null
    "$bin" --database "$db" user add maint --email m@example.org --maintainer-of git >/dev/null
    "$bin" --database "$db" token create maint > "$work/token"
    echo "$db"
}

serve() {  # $1 = database; sets $server, $base
    local port; port=$(free_port)
    "$bin" --database "$1" serve --listen "127.0.0.1:$port" --no-cron 2>>"$work/serve.log" &
    server=$!
    base="http://127.0.0.1:$port"
    until curl -sf "$base/api/" >/dev/null; do sleep 0.1; done
}

hooks() {  # $1 = how many receivers, at $rbase/hook/N
    for i in $(seq "$1"); do
        curl -sf -o /dev/null -H "Authorization: Token $(cat "$work/token")" -H 'Content-Type: application/json' \
            -d "{\"target_url\": \"$rbase/hook/$i\"}" "$base/api/1.5/projects/git/webhooks/"
    done
}

# (Started here, not in fresh_db: that runs in a subshell.)
[ "$backend" = postgres ] && start_postgres
rport=$(free_port)
rbase="http://127.0.0.1:$rport"
python3 "$tools" receiver "$rport" "$work/received" &
receiver=$!
trap 'kill $receiver ${server:-} 2>/dev/null || true; if [ -n "${pgpid:-}" ]; then kill -INT "$pgpid" 2>/dev/null || true; sleep 1; fi; rm -rf "$work"' EXIT
until curl -s -o /dev/null "$rbase/" 2>/dev/null; do sleep 0.1; done

echo "## $backend"
# Latency.
db=$(fresh_db latency); serve "$db"; hooks 1
: > "$work/received"
lat=()
for i in $(seq 20); do
    python3 - "$i" > "$work/one.eml" <<'PY'
import sys
i = sys.argv[1]
print(f"""From: Bench <bench@example.org>
To: git@lists.example.org
List-Id: <git.lists.example.org>
Subject: [PATCH] latency {i}
Message-Id: <latency-{i}@bench>
Date: Mon, 3 Feb 2020 04:05:07 +0000

A change.
---
diff --git a/f b/f
--- a/f
+++ b/f
@@ -1 +1 @@
-a
+{i}
""")
PY
    before=$(wc -l < "$work/received")
    t0=$(now)
    "$bin" --database "$db" parsemail < "$work/one.eml"
    t1=$(now)
    until [ "$(wc -l < "$work/received")" -gt "$before" ]; do sleep 0.005; done
    t2=$(awk -v n=$((before + 1)) 'NR == n {print $1}' "$work/received")
    lat+=("$(python3 -c "print(round(($t2 - $t0) * 1000, 1), round(($t2 - $t1) * 1000, 1))")")
    sleep 0.5  # the mail's other events go out too
done
printf '%s\n' "${lat[@]}" | python3 -c '
import sys
rows = [tuple(map(float, l.split())) for l in sys.stdin if l.strip()]
start = sorted(r[0] for r in rows); end = sorted(r[1] for r in rows)
m = len(rows) // 2
print(f"webhook latency over {len(rows)} mails, first delivery after parsemail started: median {start[m]:.0f} ms, "
      f"max {start[-1]:.0f} ms; after it exited: median {end[m]:.0f} ms, max {end[-1]:.0f} ms")'
kill "$server"; wait "$server" 2>/dev/null || true

# Throughput: 1 receiver, 1,000 mails; 100 receivers, 200 mails.
for spec in "1 m1000" "100 m200"; do
    read -r n mbox <<<"$spec"
    db=$(fresh_db "tp$n"); serve "$db"; hooks "$n"
    : > "$work/received"
    cpu0=$(cpu "$server")
    "$bin" --database "$db" parsearchive "$work/$mbox.mbox" >/dev/null
    events=$(curl -s "$base/api/1.5/events/?per_page=1&order=-id" -H "Authorization: Token $(cat "$work/token")" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
    want=$((events * n))
    until [ "$(wc -l < "$work/received")" -ge "$want" ]; do sleep 0.2; done
    cpu1=$(cpu "$server")
    python3 - "$work/received" "$want" "$n" "$(python3 -c "print(($cpu1 - $cpu0) / $tick)")" <<'PY'
import sys
log, want, n, cpu = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
times = sorted(float(l.split()[0]) for l in open(log))
span = times[-1] - times[0]
print(f"{n} receiver(s): {want} deliveries ({want // n} events each) in {span:.1f} s: "
      f"{want / span:,.0f} deliveries/s, server CPU {cpu:.1f} s ({cpu / want * 1e6:.0f} us per delivery)")
PY
    kill "$server"; wait "$server" 2>/dev/null || true
done

# The event stream: 500 idle subscribers.
db=$(fresh_db stream); serve "$db"
rss0=$(rss "$server")
python3 "$tools" subscribers "$base/api/1.5/events/stream/?project=git" 500 "$work/subs" &
subs=$!
until [ -s "$work/subs" ]; do sleep 0.1; done
rss1=$(rss "$server")
cpu0=$(cpu "$server"); sleep 5; cpu1=$(cpu "$server")
"$bin" --database "$db" parsemail < "$work/one.eml"
t1=$(now)
wait "$subs"
python3 - "$work/subs" "$t1" "$rss0" "$rss1" "$(python3 -c "print(($cpu1 - $cpu0) / $tick)")" <<'PY'
import sys
path, t0, rss0, rss1, idle = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
times = sorted(float(l) for l in open(path) if l.strip() != "ready")
d = [(t - t0) * 1000 for t in times]
print(f"500 SSE subscribers: server RSS {rss0 / 1024:.1f} MB before, {rss1 / 1024:.1f} MB with them "
      f"({(rss1 - rss0) / 500:.0f} KB each); idle CPU {idle / 5 * 100:.1f} % of a core; "
      f"one new event reached all 500 within {d[-1]:.0f} ms of parsemail's exit (median {d[len(d) // 2]:.0f} ms)")
PY
kill "$server"; wait "$server" 2>/dev/null || true
