#!/usr/bin/env bash
# Eight concurrent `parsemail` processes deliver the whole git-list archive
# in a shuffled order to one SQLite database; the result must equal one
# sequential delivery of the same mails in the order they were committed
# (raw_mail ids). Prints the wall time and whether the two agree.
#   bench/concurrent.sh        (corpus from $PATCHTRACK_CORPUS or ../shared/corpus)
set -euo pipefail
cd "$(dirname "$0")/.."
corpus="${PATCHTRACK_CORPUS:-$(pwd)/../shared/corpus}"
cargo build --release --quiet
bin="$(pwd)/target/release/patchtrack"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
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

conc="sqlite://$work/concurrent.db"
"$bin" --database "$conc" project add --linkname git --name Git --listid git.lists.example.org >/dev/null
start=$(date +%s.%N)
for k in 0 1 2 3 4 5 6 7; do
    (while read -r f; do "$bin" --database "$conc" parsemail < "$f" 2>/dev/null || echo "exit $? on $f"; done < "$work/list$k") &
done
wait
end=$(date +%s.%N)
echo "8 concurrent parsemail feeders, 20,000 mails: $(python3 -c "print(round($end - $start, 1))") s"

# The committed mails, in commit order, as an mboxrd file; imported sequentially.
python3 - "$work" <<'PY'
import re, sqlite3, sys
w = sys.argv[1]
db = sqlite3.connect(w + "/concurrent.db")
with open(w + "/replay.mbox", "wb") as out:
    for (data,) in db.execute("SELECT data FROM raw_mail ORDER BY id"):
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

python3 - "$work" <<'PY'
import sqlite3, sys
w = sys.argv[1]
def grouping(path):
    db = sqlite3.connect(path)
    rows = db.execute(
        "SELECT s.id, c.msgid, p.msgid FROM series s LEFT JOIN cover c ON c.id = s.cover_letter_id "
        "LEFT JOIN patch p ON p.series_id = s.id ORDER BY s.id, p.number")
    series = {}
    for sid, cover, patch in rows:
        series.setdefault(sid, (cover, []))[1].append(patch)
    counts = [db.execute("SELECT COUNT(*) FROM %s" % t).fetchone()[0]
              for t in ("patch", "cover", "patch_comment", "cover_comment", "series")]
    return sorted((c or "", tuple(p)) for c, p in series.values()), counts
a, ca = grouping(w + "/concurrent.db")
b, cb = grouping(w + "/sequential.db")
print("concurrent: patches, covers, patch comments, cover comments, series =", ca)
print("sequential:", cb)
print("same series grouping:", a == b and ca == cb)
sys.exit(0 if a == b and ca == cb else 1)
PY
