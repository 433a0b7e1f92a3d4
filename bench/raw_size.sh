#!/usr/bin/env bash
# Database size per 1,000 messages after importing one archive into a
# fresh SQLite database, and the bytes of the kept original mail.
#   bench/raw_size.sh BINARY ARCHIVE LISTID
# Run it with the binary before and after a storage change, in the same
# sitting, and compare.
set -euo pipefail
bin=$1 archive=$2 listid=$3
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
db="sqlite://$dir/site.db"
"$bin" --database "$db" migrate >/dev/null
"$bin" --database "$db" project add --linkname p --name P --listid "$listid" >/dev/null
/usr/bin/time -f "import: %U s user, %S s system, %e s wall" \
    "$bin" --database "$db" parsearchive "$archive" >/dev/null
python3 - "$dir/site.db" <<'PY'
import os, sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
n, raw = c.execute("SELECT COUNT(*), SUM(length(data)) FROM raw_mail").fetchone()
size = os.path.getsize(sys.argv[1])
tables = dict(c.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name"))
print(f"messages stored: {n}")
print(f"database: {size:,} bytes, {size / n * 1000 / 1e6:.2f} MB per 1,000 messages")
print(f"raw_mail table: {tables['raw_mail']:,} bytes ({raw:,} bytes of mail data), "
      f"{tables['raw_mail'] / n * 1000 / 1e6:.2f} MB per 1,000 messages")
PY
