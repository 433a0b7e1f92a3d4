#!/usr/bin/env bash
# schemathesis with Patchwork's OpenAPI documents (reference/openapi/v1.X),
# and with patchtrack's API 1.5 document (1.4's, extended)
# against `patchtrack serve` loaded with the synthetic corpus and the
# series test mailboxes, authenticated as a maintainer so that writes are
# exercised too. Fails on any 5xx and on any schema violation that
# upstream Patchwork does not show itself (classify.py says which).
#   tests/schema/run.sh PATCHTRACK_BINARY SCHEMATHESIS OPENAPI_DIR CORPUS_DIR
set -euo pipefail
bin=$(realpath "$1"); st=$2; openapi=$(realpath "$3"); corpus=$(realpath "$4")
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
db="sqlite://$work/schema.db"
pt() { "$bin" --database "$db" "$@"; }
pt project add --linkname git --name Git --listid git.vger.kernel.org --listemail git@vger.kernel.org >/dev/null
pt parsearchive --list-id git.vger.kernel.org "$corpus/synthetic-2k.mbox" | tail -1
pt project add --linkname series --name Series --listid series.example.org --listemail series@example.org >/dev/null
pt parsearchive --list-id series.example.org "$here"/../../testdata/patchwork/series/*.mbox | tail -1
pt project edit series --show-dependencies true >/dev/null
pt user add maint --email maint@example.org --password secret --maintainer-of git --maintainer-of series >/dev/null
token=$(pt token create maint)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$bin" --database "$db" serve --listen "127.0.0.1:$port" 2>"$work/serve.log" &
server=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/api/" >/dev/null && break; sleep 0.1; done
status=0
# API 1.5's document is generated from 1.4's: the committed one must be
# what the generator makes.
python3 "$here/openapi_v1_5.py" "$work/v1.5.yaml"
if cmp -s "$work/v1.5.yaml" "$openapi/v1.5/patchwork.yaml"; then
    echo "ok - the API 1.5 document is the generator's"
else
    echo "FAILED - testdata/openapi/v1.5/patchwork.yaml differs from tests/schema/openapi_v1_5.py's output"
    status=1
fi
# schemathesis keeps its example database in the working directory.
cd "$work"
for v in 1.0 1.1 1.2 1.3 1.4 1.5; do
    "$st" run "$openapi/v$v/patchwork.yaml" --url "http://127.0.0.1:$port" \
        --checks not_a_server_error,response_schema_conformance \
        -H "Authorization: Token $token" --max-examples 10 --seed 1 \
        --exclude-path /api/1.5/events/stream \
        >"$work/st-$v.log" 2>&1 || true
    echo "schemathesis v$v: $(grep -E '^=+ .* in [0-9.]+s =+$' "$work/st-$v.log" | tail -1 | tr -d '=' | xargs)"
    if python3 "$here/classify.py" "$work/st-$v.log"; then
        echo "ok - schemathesis v$v"
    else
        echo "FAILED - schemathesis v$v"
        status=1
    fi
done
if grep -q panicked "$work/serve.log"; then
    cat "$work/serve.log"
    echo "FAILED - the server panicked"
    status=1
fi
exit $status
