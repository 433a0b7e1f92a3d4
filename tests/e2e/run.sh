#!/usr/bin/env bash
# End-to-end browser tests of the web UI: loads a throwaway SQLite database
# with the series test mailboxes, the seed QEMU patch and hostile.mbox, adds
# a maintainer, a plain user and a site administrator, starts `patchtrack serve` on a free loopback
# port and drives Debian's headless Chromium against it with playwright-core
# (e2e.mjs). Exits with e2e.mjs's status.
#   tests/e2e/run.sh PATCHTRACK_BINARY
# Screenshots (and the server's log) go to ${E2E_ARTIFACTS:-target/e2e-artifacts}.
set -euo pipefail
if [ $# -ne 1 ]; then
    echo "usage: $0 PATCHTRACK_BINARY" >&2
    exit 2
fi
bin=$(realpath "$1")
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
artifacts=$(realpath -m "${E2E_ARTIFACTS:-$root/target/e2e-artifacts}")
mkdir -p "$artifacts"
cd "$root"

apt_updated=
apt_install() {
    if [ -z "$apt_updated" ]; then
        apt-get update -qq
        apt_updated=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}
if [ ! -x /usr/bin/chromium ]; then
    echo "e2e: installing Debian's chromium"
    apt_install chromium
fi
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "e2e: installing Node.js and npm"
    apt_install nodejs npm
fi
node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 20 ]; then
    echo "e2e: playwright-core needs Node.js 20 or newer, this machine has $(node --version)" >&2
    exit 1
fi
# playwright-core downloads no browser; the variable makes sure of it.
(cd "$here" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)

work=$(mktemp -d)
server=
smtp=
cleanup() {
    for pid in $server $smtp; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    [ -f "$work/serve.log" ] && cp "$work/serve.log" "$artifacts/serve.log"
    rm -rf "$work"
}
trap cleanup EXIT
db="sqlite://$work/e2e.db"
pt() { "$bin" --database "$db" "$@"; }

mboxes=()
for f in testdata/patchwork/series/*.mbox testdata/seed/seed-qemu-patch.mbox tests/e2e/hostile.mbox; do
    if [ ! -f "$f" ]; then
        echo "e2e: missing test mailbox $f" >&2
        exit 1
    fi
    mboxes+=("$f")
done
pt project add --linkname e2e --name "E2E Project" --listid e2e.example.org --listemail e2e@example.org >/dev/null
pt parsearchive --list-id e2e.example.org "${mboxes[@]}" >"$work/load.log"
echo "e2e: loaded ${#mboxes[@]} mailboxes: $(grep -E '^ +[0-9]+ [a-z]+$' "$work/load.log" | xargs | sed 's/ \([0-9]\)/, \1/g')"
pt user add maint --email maint@example.org --password maintpass --maintainer-of e2e >/dev/null
pt user add visitor --email visitor@example.org --password visitorpass >/dev/null
pt user add admin --email admin@example.org --password adminpass --superuser >/dev/null

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
port=$(free_port)
base="http://127.0.0.1:$port"

# A real SMTP server (aiosmtpd, into a Maildir e2e.mjs reads) for the
# registration steps; without one they are skipped, unless
# PATCHTRACK_REQUIRE_SMTP=1 (.ci/run) makes that a failure.
mail_args=()
smtp=
if /usr/bin/python3 -c 'import aiosmtpd' >/dev/null 2>&1; then
    smtp_port=$(free_port)
    mkdir -p "$work/maildir/tmp" "$work/maildir/new" "$work/maildir/cur"
    /usr/bin/python3 -m aiosmtpd -n -l "127.0.0.1:$smtp_port" -c aiosmtpd.handlers.Mailbox "$work/maildir" \
        >"$work/smtp.log" 2>&1 &
    smtp=$!
    mail_args=(--smtp-host 127.0.0.1 --smtp-port "$smtp_port" --smtp-tls none --base-url "$base")
    export E2E_MAILDIR="$work/maildir"
    echo "e2e: aiosmtpd on 127.0.0.1:$smtp_port"
elif [ "${PATCHTRACK_REQUIRE_SMTP:-}" = 1 ]; then
    echo "e2e: PATCHTRACK_REQUIRE_SMTP=1 but /usr/bin/python3 has no aiosmtpd (install python3-aiosmtpd)" >&2
    exit 1
else
    echo "e2e: *** no aiosmtpd: the registration-by-mail steps are SKIPPED ***"
fi

"$bin" --database "$db" serve --listen "127.0.0.1:$port" "${mail_args[@]}" >"$work/serve.log" 2>&1 &
server=$!
for _ in $(seq 100); do
    curl -sf "$base/api/" >/dev/null && break
    if ! kill -0 "$server" 2>/dev/null; then
        echo "e2e: patchtrack serve exited early:" >&2
        cat "$work/serve.log" >&2
        exit 1
    fi
    sleep 0.1
done
if ! curl -sf "$base/api/" >/dev/null; then
    echo "e2e: patchtrack serve did not answer on $base/api/ within 10 s" >&2
    cat "$work/serve.log" >&2
    exit 1
fi
echo "e2e: patchtrack serve on $base, screenshots in $artifacts"

status=0
E2E_ARTIFACTS="$artifacts" node "$here/e2e.mjs" "$base" || status=$?
if grep -q panicked "$work/serve.log"; then
    echo "e2e: the server panicked:" >&2
    cat "$work/serve.log" >&2
    status=1
fi
exit "$status"
