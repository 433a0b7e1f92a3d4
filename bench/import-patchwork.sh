#!/usr/bin/env bash
# Times `patchtrack import-patchwork` of a generated Patchwork site:
#
#   bench/import-patchwork.sh BINARY PATCHES [TARGET_URL]
#
# Makes the source with bench/mkpatchwork.py (kept in $PW_CACHE, default
# /work/scale/pw, and reused), imports it into a fresh SQLite database
# there (or into TARGET_URL, which must be empty), and prints wall time,
# CPU time (user + system) and peak memory of the import, its rows per
# second, and the slowest tables.
set -euo pipefail
bin=$(realpath "$1")
patches=$2
target=${3:-}
here=$(dirname "$(realpath "$0")")
cache=${PW_CACHE:-/work/scale/pw}
mkdir -p "$cache"
source_db="$cache/pw-$patches.sqlite3"
if [ ! -f "$source_db" ]; then
    python3 "$here/mkpatchwork.py" "$source_db.tmp" "$patches" >/dev/null
    mv "$source_db.tmp" "$source_db"
fi
if [ -z "$target" ]; then
    db="$cache/target-$patches.db"
    rm -f "$db" "$db-wal" "$db-shm"
    target="sqlite://$db"
fi
echo "source: $source_db ($(du -h "$source_db" | cut -f1)), target: $target"
log=$(mktemp)
/usr/bin/time -f "time: wall %e s, user %U s, sys %S s, peak RSS %M KB" \
    "$bin" --database "$target" import-patchwork --from "sqlite://$source_db" 2>"$log" |
    tail -1
grep '^time:' "$log"
rm -f "$log"
case $target in
    sqlite://*)
        sqlite3 "${target#sqlite://}" \
            "SELECT printf('%-28s %9d rows %8.1f s', name, source_rows, millis / 1000.0)
             FROM patchwork_import_table ORDER BY millis DESC LIMIT 6"
        echo "target size: $(du -h "${target#sqlite://}" | cut -f1)"
        ;;
esac
