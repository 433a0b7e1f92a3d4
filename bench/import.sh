#!/usr/bin/env bash
# Import throughput, peak memory and parsemail latency on the git-list
# corpus, on SQLite and on a throwaway PostgreSQL cluster.
#   bench/import.sh            (corpus from $PATCHTRACK_CORPUS or ../shared/corpus)
set -euo pipefail
cd "$(dirname "$0")/.."
corpus="${PATCHTRACK_CORPUS:-$(pwd)/../shared/corpus}"
cargo build --release --quiet
bin="$(pwd)/target/release/patchtrack"
work=$(mktemp -d)
chmod 755 "$work"
trap 'if [ -n "${pgpid:-}" ]; then kill -INT "$pgpid" 2>/dev/null || true; sleep 1; fi; rm -rf "$work"' EXIT
xz -dc "$corpus/git-list.mbox.xz" > "$work/git-list.mbox"

# 500 single mails from the middle of the archive, for parsemail.
mkdir "$work/mails"
python3 - "$work" <<'PY'
import mailbox, sys
w = sys.argv[1]
for i, m in enumerate(mailbox.mbox(w + "/git-list.mbox")):
    if i >= 10000:
        open("%s/mails/%05d" % (w, i), "wb").write(m.as_bytes(unixfrom=False))
    if i >= 10499:
        break
PY

run() {  # $1 = label, $2 = database URL
    "$bin" --database "$2" project add --linkname git --name Git --listid git.lists.example.org >/dev/null
    /usr/bin/time -f "%e s wall, %M KB peak RSS" -o "$work/time" \
        "$bin" --database "$2" parsearchive "$work/git-list.mbox" > "$work/summary"
    secs=$(cut -d' ' -f1 "$work/time")
    echo "$1 parsearchive: $(head -1 "$work/summary") $(cat "$work/time"), $(python3 -c "print(round(20000/$secs))") messages/s"
    # parsemail: a fresh project so every mail is stored, one process each.
    "$bin" --database "$2" project add --linkname late --name Late --listid late.example.org >/dev/null
    start=$(date +%s.%N)
    for f in "$work"/mails/*; do
        "$bin" --database "$2" parsemail --list-id late.example.org < "$f" 2>/dev/null
    done
    end=$(date +%s.%N)
    echo "$1 parsemail: $(python3 -c "print(round(($end - $start) * 1000 / 500, 2))") ms per mail (process start to exit, 500 mails)"
}

run sqlite "sqlite://$work/bench.db"

pgbin=$(dirname "$(readlink -f "$(command -v initdb)")")
mkdir "$work/pg"
as_pg=()
if [ "$(id -u)" = 0 ]; then chown postgres: "$work/pg"; as_pg=(setpriv --reuid=postgres --regid=postgres --init-groups --); fi
"${as_pg[@]}" "$pgbin/initdb" -D "$work/pg/data" -U postgres --auth=trust -E UTF8 --locale=C >/dev/null
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"${as_pg[@]}" "$pgbin/postgres" -D "$work/pg/data" -p "$port" -k "$work/pg" -c listen_addresses=127.0.0.1 >/dev/null 2>&1 &
pgpid=$!
until "$pgbin/pg_isready" -q -h 127.0.0.1 -p "$port"; do sleep 0.2; done
run postgres "postgres://postgres@127.0.0.1:$port/postgres"
