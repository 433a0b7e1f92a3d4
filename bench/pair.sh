#!/usr/bin/env bash
# Paired import timings: a baseline and a current binary back to back, so
# that a shared machine slows both alike. Prints wall and user+system time.
#   bench/pair.sh BASE_BINARY NEW_BINARY git-list.mbox [RUNS]
set -euo pipefail
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
base=$1; new=$2; mbox=$3; runs=${4:-3}
for i in $(seq "$runs"); do
  for which in base new; do
    bin=${!which}
    db=$(mktemp -u "$tmp/XXXX.db")
    "$bin" --database "sqlite://$db" project add --linkname git --name Git --listid git.lists.example.org >/dev/null
    /usr/bin/time -f "%e %U %S %M" -o "$tmp/t" "$bin" --database "sqlite://$db" parsearchive "$mbox" >/dev/null
    read wall user sys rss < "$tmp/t"
    echo "$which run $i: ${wall} s wall, $(python3 -c "print(round($user+$sys,2))") s CPU, $(python3 -c "print(round(20000/$wall))") msg/s, ${rss} KB"
    rm -f "$db" "$db"-*
  done
done
