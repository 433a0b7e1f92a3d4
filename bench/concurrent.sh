#!/usr/bin/env bash
# Eight concurrent `parsemail` processes deliver the whole git-list archive
# in a shuffled order to one database; the result must equal one sequential
# delivery (into SQLite) of the same mails in the order they were committed
# (raw_mail ids). Prints the wall time and whether the two agree.
#   bench/concurrent.sh [sqlite|postgres]   (default sqlite; corpus from
#   $PATCHTRACK_CORPUS or ../shared/corpus; postgres starts a throwaway cluster)
set -euo pipefail
cd "$(dirname "$0")/.."
backend="${1:-sqlite}"
. bench/lib.sh
xz -dc "$corpus/git-list.mbox.xz" > "$work/all.mbox"

python3 - "$work" <<'PY'
import mailbox, random, sys
w = sys.argv[1]
names = []
for i, m in enumerate(mailbox.mbox(w + "/all.mbox")):
    name = "%s/m%05d" % (w, i)
    with open(name, "wb") as f:
        f.write(m.as_bytes(unixfrom=False))
    names.append(name)
random.Random(7).shuffle(names)
for k in range(8):
    with open("%s/list%d" % (w, k), "w") as f:
        f.write("\n".join(names[k::8]) + "\n")
PY

if [ "$backend" = postgres ]; then
    start_postgres
    conc="$pgurl"
    psql_conc=(psql -h 127.0.0.1 -p "$pgport" -U postgres -At -d postgres)
else
    conc="sqlite://$work/concurrent.db"
    psql_conc=()
fi
"$bin" --database "$conc" project add --linkname git --name Git --listid git.lists.example.org >/dev/null
start=$(date +%s.%N)
feeders=()
for k in 0 1 2 3 4 5 6 7; do
    (while read -r f; do "$bin" --database "$conc" parsemail < "$f" 2>/dev/null || echo "exit $? on $f"; done < "$work/list$k") &
    feeders+=($!)
done
wait "${feeders[@]}"   # not the PostgreSQL server, also a background job
end=$(date +%s.%N)
echo "8 concurrent parsemail feeders, 20,000 mails: $(python3 -c "print(round($end - $start, 1))") s"

# The committed mails, in commit order, as an mboxrd file; imported sequentially.
grouping_sql="SELECT s.id, COALESCE(c.msgid, ''), COALESCE(p.msgid, '') FROM series s LEFT JOIN cover c ON c.id = s.cover_letter_id LEFT JOIN patch p ON p.series_id = s.id ORDER BY s.id, p.number"
if [ "$backend" = postgres ]; then
    "${psql_conc[@]}" -c "SELECT translate(encode(data, 'base64'), E'\n', '') FROM raw_mail ORDER BY id" > "$work/raw.b64"
    "${psql_conc[@]}" -F '|' -c "$grouping_sql" > "$work/conc.grouping"
    "${psql_conc[@]}" -F ' ' -c "SELECT (SELECT COUNT(*) FROM patch), (SELECT COUNT(*) FROM cover), (SELECT COUNT(*) FROM patch_comment), (SELECT COUNT(*) FROM cover_comment), (SELECT COUNT(*) FROM series)" > "$work/conc.counts"
else
    python3 - "$work" "$grouping_sql" <<'PY'
import base64, sqlite3, sys
w, sql = sys.argv[1], sys.argv[2]
db = sqlite3.connect(w + "/concurrent.db")
with open(w + "/raw.b64", "w") as out:
    for (data,) in db.execute("SELECT data FROM raw_mail ORDER BY id"):
        out.write(base64.b64encode(data).decode() + "\n")
with open(w + "/conc.grouping", "w") as out:
    for row in db.execute(sql):
        out.write("|".join(str(x) for x in row) + "\n")
counts = [db.execute("SELECT COUNT(*) FROM %s" % t).fetchone()[0]
          for t in ("patch", "cover", "patch_comment", "cover_comment", "series")]
open(w + "/conc.counts", "w").write(" ".join(map(str, counts)) + "\n")
PY
fi
python3 - "$work" <<'PY'
import base64, re, sys
w = sys.argv[1]
with open(w + "/replay.mbox", "wb") as out:
    for b64 in open(w + "/raw.b64"):
        data = base64.b64decode(b64.strip())
        out.write(b"From replay Thu Jan  1 00:00:00 1970\n")
        for line in data.split(b"\n"):
            if re.match(rb">*From ", line):
                line = b">" + line
            out.write(line + b"\n")
        out.write(b"\n")
PY
seq="sqlite://$work/sequential.db"
"$bin" --database "$seq" project add --linkname git --name Git --listid git.lists.example.org >/dev/null
"$bin" --database "$seq" parsearchive "$work/replay.mbox" | head -1

python3 - "$work" "$grouping_sql" <<'PY'
import sqlite3, sys
w, sql = sys.argv[1], sys.argv[2]
def group(rows):
    series = {}
    for sid, cover, patch in rows:
        series.setdefault(sid, (cover, []))[1].append(patch)
    return sorted((c, tuple(p)) for c, p in series.values())
conc_rows = [line.rstrip("\n").split("|") for line in open(w + "/conc.grouping") if line.strip()]
a = group(conc_rows)
ca = [int(x) for x in open(w + "/conc.counts").read().split()]
db = sqlite3.connect(w + "/sequential.db")
b = group([[str(x) for x in row] for row in db.execute(sql)])
cb = [db.execute("SELECT COUNT(*) FROM %s" % t).fetchone()[0]
      for t in ("patch", "cover", "patch_comment", "cover_comment", "series")]
print("concurrent: patches, covers, patch comments, cover comments, series =", ca)
print("sequential:", cb)
print("same series grouping:", a == b and ca == cb)
sys.exit(0 if a == b and ca == cb else 1)
PY
