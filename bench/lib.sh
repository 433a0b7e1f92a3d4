# Shared by the bench scripts: a scratch directory, the release binary, the
# corpus, and a throwaway PostgreSQL cluster. Source it from a script that
# has `set -euo pipefail` and has changed to the repository root.

corpus="${PATCHTRACK_CORPUS:-$(pwd)/../shared/corpus}"
cargo build --release --quiet
bin="$(pwd)/target/release/patchtrack"
work=$(mktemp -d)
chmod 755 "$work"
trap 'if [ -n "${pgpid:-}" ]; then kill -INT "$pgpid" 2>/dev/null || true; sleep 1; fi; rm -rf "$work"' EXIT

# Starts PostgreSQL in $work/pg on a free loopback port (as the postgres
# user when run as root); sets $pgurl, $pgport, $pgpid and $pgbin.
start_postgres() {
    local as_pg=()
    pgbin=$(dirname "$(readlink -f "$(command -v initdb)")")
    mkdir "$work/pg"
    if [ "$(id -u)" = 0 ]; then
        chown postgres: "$work/pg"
        as_pg=(setpriv --reuid=postgres --regid=postgres --init-groups --)
    fi
    "${as_pg[@]}" "$pgbin/initdb" -D "$work/pg/data" -U postgres --auth=trust -E UTF8 --locale=C >/dev/null
    pgport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    "${as_pg[@]}" "$pgbin/postgres" -D "$work/pg/data" -p "$pgport" -k "$work/pg" \
        -c listen_addresses=127.0.0.1 -c max_connections=100 >/dev/null 2>&1 &
    pgpid=$!
    until "$pgbin/pg_isready" -q -h 127.0.0.1 -p "$pgport"; do sleep 0.2; done
    pgurl="postgres://postgres@127.0.0.1:$pgport/postgres"
}
