#!/usr/bin/env bash
# import-public-inbox against parsearchive on the same mail: the archive
# written as a v2 inbox (bench/mkinbox.py), each imported into a fresh
# SQLite database; then a second run of the inbox with nothing new.
#   bench/public_inbox.sh BINARY ARCHIVE LISTID
set -euo pipefail
bin=$1 archive=$2 listid=$3
here=$(cd "$(dirname "$0")" && pwd)
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
python3 "$here/mkinbox.py" "$archive" "$dir/inbox"
echo "inbox: $(git --git-dir "$dir/inbox/git/0.git" rev-list --count HEAD) commits"
for name in archive inbox; do
    "$bin" --database "sqlite://$dir/$name.db" migrate >/dev/null
    "$bin" --database "sqlite://$dir/$name.db" project add --linkname p --name P --listid "$listid" >/dev/null
done
t() { /usr/bin/time -f "$1: %U s user, %S s system, %e s wall, %M KB peak" "${@:2}"; }
t parsearchive "$bin" --database "sqlite://$dir/archive.db" parsearchive "$archive" | grep Total
t import-public-inbox "$bin" --database "sqlite://$dir/inbox.db" import-public-inbox "$dir/inbox" | grep Total
t "second run (nothing new)" "$bin" --database "sqlite://$dir/inbox.db" import-public-inbox "$dir/inbox"
python3 "$here/../crates/cli/tests/lmtp/compare.py" "$dir/archive.db" "$dir/inbox.db"
