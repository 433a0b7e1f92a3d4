#!/usr/bin/env bash
# Import throughput, peak memory and parsemail latency on the git-list
# corpus, on SQLite and on a throwaway PostgreSQL cluster.
#   bench/import.sh            (corpus from $PATCHTRACK_CORPUS or ../shared/corpus)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
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

start_postgres
run postgres "$pgurl"
