#!/usr/bin/env bash
# patchtrack at the size of real sites: builds (once, cached) databases of
# about 20,000, 200,000 and 1,000,000 patches from generated mail, on
# SQLite and PostgreSQL, then times with wrk the requests real clients make.
#
#   bench/scale.sh build [sqlite|postgres]...        # default: both
#   bench/scale.sh run   [sqlite|postgres] [20k|200k|1m]...
#   bench/scale.sh pg-start | pg-stop                # the cached cluster
#
# Cache: $PATCHTRACK_SCALE_DIR (default ~/.cache/patchtrack-scale). The
# mail comes from ../shared/tools/mkcorpus --synthetic (override with
# $MKCORPUS), in chunks of 400,000 messages, each with its own seed,
# imported with `parsearchive` (one transaction per mail, as a site
# would) and then deleted, so the disk holds a chunk at most. A stage is
# marked done only once all its chunks are in; an interrupted build
# re-runs the unfinished chunk, whose duplicates `parsearchive` skips.
#
# After each stage's import, `settle` makes its new patches look like a
# real site's: eight in ten leave the action-required states (seven in ten
# are archived),
# one in seven is delegated, one in four has CI checks (with their
# check-created events). It writes the rows directly with SQL, since doing
# a million state changes through the API would take hours; the events of
# those state changes are not made.
#
# Binary: $PATCHTRACK_BIN, else target/release/patchtrack (built).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
cache="${PATCHTRACK_SCALE_DIR:-$HOME/.cache/patchtrack-scale}"
mkdir -p "$cache"
mkcorpus="${MKCORPUS:-$root/../shared/tools/mkcorpus}"
if [ -n "${PATCHTRACK_BIN:-}" ]; then
    bin=$(realpath "$PATCHTRACK_BIN")
else
    cargo build --release --quiet
    bin="$root/target/release/patchtrack"
fi
list=scale.lists.example.org

# Stages: name, messages in total when it is done (about 0.52 patches per
# message with mkcorpus's mix).
stages=("20k 39000" "200k 385000" "1m 1935000")
chunk=400000
# Smaller trial builds: SCALE_STAGES="a 2000,b 5000" SCALE_CHUNK=2000.
if [ -n "${SCALE_STAGES:-}" ]; then
    IFS=, read -ra stages <<<"$SCALE_STAGES"
fi
chunk=${SCALE_CHUNK:-$chunk}

pgdir="$cache/pg"
pgport_file="$cache/pg.port"
as_pg=()
if [ "$(id -u)" = 0 ]; then
    as_pg=(setpriv --reuid=postgres --regid=postgres --init-groups --)
fi
pgbin=$(dirname "$(readlink -f "$(command -v initdb || ls /usr/lib/postgresql/*/bin/initdb | tail -1)")")

pg_start() {
    if [ ! -d "$pgdir/data" ]; then
        mkdir -p "$pgdir"
        [ "$(id -u)" = 0 ] && chown postgres: "$pgdir"
        "${as_pg[@]}" "$pgbin/initdb" -D "$pgdir/data" -U postgres --auth=trust -E UTF8 --locale=C >/dev/null
        python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' >"$pgport_file"
    fi
    pgport=$(cat "$pgport_file")
    if ! "$pgbin/pg_isready" -q -h 127.0.0.1 -p "$pgport"; then
        "${as_pg[@]}" "$pgbin/pg_ctl" -D "$pgdir/data" -l "$pgdir/log" -w -o \
            "-p $pgport -k $pgdir -c listen_addresses=127.0.0.1 -c max_connections=100 \
             -c shared_buffers=512MB -c synchronous_commit=on" start >/dev/null
    fi
}

pg_stop() {
    [ -d "$pgdir/data" ] && "${as_pg[@]}" "$pgbin/pg_ctl" -D "$pgdir/data" -m fast stop >/dev/null 2>&1 || true
}

pg_url() { echo "postgres://postgres@127.0.0.1:$(cat "$pgport_file")/$1"; }

db_url() {  # $1 engine, $2 stage
    case $1 in
        sqlite) echo "sqlite://$cache/sqlite-$2.db" ;;
        postgres) pg_url "scale_$2" ;;
    esac
}

sql() {  # $1 engine, $2 stage; SQL on stdin
    case $1 in
        sqlite) sqlite3 -bail "$cache/sqlite-$2.db" ;;
        postgres) "$pgbin/psql" -q -v ON_ERROR_STOP=1 "$(db_url postgres "$2")" >/dev/null ;;
    esac
}

# Copies the previous stage's database to start the next one.
copy_stage() {  # $1 engine, $2 from, $3 to
    case $1 in
        sqlite) cp "$cache/sqlite-$2.db" "$cache/sqlite-$3.db" ;;
        postgres) "$pgbin/psql" -q "$(pg_url postgres)" -c "CREATE DATABASE scale_$3 TEMPLATE scale_$2" ;;
    esac
}

new_db() {  # $1 engine, $2 stage
    case $1 in
        sqlite) rm -f "$cache/sqlite-$2.db"* ;;
        postgres)
            "$pgbin/psql" -q "$(pg_url postgres)" -c "DROP DATABASE IF EXISTS scale_$2" \
                -c "CREATE DATABASE scale_$2" ;;
    esac
    "$bin" --database "$(db_url "$1" "$2")" project add --linkname scale --name Scale \
        --listid "$list" --listemail "scale@lists.example.org" >/dev/null
    for u in alice bob carol dave erin; do
        "$bin" --database "$(db_url "$1" "$2")" user add "$u" --email "$u@maint.example" \
            --password "${u}pass" --maintainer-of scale >/dev/null
    done
}

# Settles the patches above id $3 (those of this stage's new mail).
settle() {  # $1 engine, $2 stage, $3 first patch id not to touch below
    sql "$1" "$2" <<SQL
BEGIN;
UPDATE patch SET
    state_id = CASE WHEN id % 10 = 0 THEN 1 WHEN id % 10 = 1 THEN 2
                    WHEN id % 10 IN (2, 3, 4) THEN 3 WHEN id % 10 = 5 THEN 4
                    WHEN id % 10 IN (6, 7) THEN 9 ELSE 7 END,
    archived = CASE WHEN id % 10 IN (0, 1, 9) THEN 0 ELSE 1 END,
    delegate_id = CASE WHEN id % 7 = 0
                       THEN (SELECT MIN(id) FROM app_user) + (id / 7) % 5 END
WHERE id > $3;
INSERT INTO check_result (patch_id, user_id, date, state, target_url, description, context)
SELECT p.id, (SELECT MIN(id) FROM app_user), p.date + 3600000000, (p.id / 4) % 4,
       'https://ci.example.org/build/' || p.id, 'build', 'build'
FROM patch p WHERE p.id % 4 = 0 AND p.id > $3;
INSERT INTO check_result (patch_id, user_id, date, state, target_url, description, context)
SELECT p.id, (SELECT MIN(id) FROM app_user), p.date + 7200000000, 1,
       'https://ci.example.org/test/' || p.id, 'tests', 'test'
FROM patch p WHERE p.id % 8 = 0 AND p.id > $3;
INSERT INTO event (category, project_id, date, actor_id, patch_id, created_check_id)
SELECT 'check-created', p.project_id, c.date, c.user_id, c.patch_id, c.id
FROM check_result c JOIN patch p ON p.id = c.patch_id WHERE c.patch_id > $3;
COMMIT;
SQL
    case $1 in
        sqlite) sql "$1" "$2" <<<"ANALYZE;" ;;
        postgres) sql "$1" "$2" <<<"VACUUM ANALYZE;" ;;
    esac
}

import_chunks() {  # $1 engine, $2 stage, $3 messages done before, $4 messages wanted
    local engine=$1 stage=$2 done=$3 want=$4 n seed
    while [ "$done" -lt "$want" ]; do
        n=$(( want - done < chunk ? want - done : chunk ))
        seed=$(( done + 1 )) # a chunk's seed is where it starts: never reused
        local mark="$cache/$engine-$stage.chunk-$done"
        # Per engine, so that builds of both engines can run at once.
        local mbox="$cache/$engine.chunk.mbox"
        if [ ! -f "$mark" ]; then
            echo "scale: $engine $stage: generating $n messages (seed $seed)"
            "$mkcorpus" --synthetic --seed "$seed" --max-messages "$n" --list-id "$list" \
                --out "$mbox" -q
            echo "scale: $engine $stage: importing them"
            /usr/bin/time -f "%e s wall, %U s user, %S s system, %M KB peak RSS" -o "$cache/$engine.time" \
                "$bin" --database "$(db_url "$engine" "$stage")" parsearchive --list-id "$list" \
                "$mbox" >"$cache/$engine.summary"
            echo "scale: $engine $stage: $(head -1 "$cache/$engine.summary" | tr -d '\n') in $(cat "$cache/$engine.time")" |
                tee -a "$cache/import.log"
            rm -f "$mbox" "${mbox%.mbox}.json"
            touch "$mark"
        fi
        done=$(( done + n ))
    done
}

build() {  # $1 engine
    local engine=$1 prev= prev_msgs=0
    [ "$engine" = postgres ] && pg_start
    for s in "${stages[@]}"; do
        read -r stage msgs <<<"$s"
        if [ -f "$cache/$engine-$stage.done" ]; then
            prev=$stage prev_msgs=$msgs
            continue
        fi
        if ! ls "$cache/$engine-$stage".chunk-* >/dev/null 2>&1; then
            if [ -z "$prev" ]; then
                new_db "$engine" "$stage"
            else
                [ "$engine" = sqlite ] && rm -f "$cache/sqlite-$stage.db"*
                [ "$engine" = postgres ] && "$pgbin/psql" -q "$(pg_url postgres)" \
                    -c "DROP DATABASE IF EXISTS scale_$stage"
                copy_stage "$engine" "$prev" "$stage"
            fi
            max_patch "$engine" "$stage" >"$cache/$engine-$stage.settle-from"
        fi
        import_chunks "$engine" "$stage" "$prev_msgs" "$msgs"
        echo "scale: $engine $stage: settling states, delegates and checks"
        settle "$engine" "$stage" "$(cat "$cache/$engine-$stage.settle-from")"
        counts "$engine" "$stage" | tee "$cache/$engine-$stage.counts"
        touch "$cache/$engine-$stage.done"
        prev=$stage prev_msgs=$msgs
    done
}

max_patch() {  # $1 engine, $2 stage
    case $1 in
        sqlite) sqlite3 "$cache/sqlite-$2.db" "SELECT COALESCE(MAX(id), 0) FROM patch" ;;
        postgres) "$pgbin/psql" -At "$(db_url postgres "$2")" -c "SELECT COALESCE(MAX(id), 0) FROM patch" ;;
    esac
}

counts() {  # $1 engine, $2 stage
    local q="SELECT 'patches', COUNT(*) FROM patch UNION ALL SELECT 'covers', COUNT(*) FROM cover
        UNION ALL SELECT 'comments', (SELECT COUNT(*) FROM patch_comment) + (SELECT COUNT(*) FROM cover_comment)
        UNION ALL SELECT 'series', COUNT(*) FROM series UNION ALL SELECT 'checks', COUNT(*) FROM check_result
        UNION ALL SELECT 'events', COUNT(*) FROM event;"
    case $1 in
        sqlite) sqlite3 -separator ' ' "$cache/sqlite-$2.db" "$q" ;;
        postgres) "$pgbin/psql" -At -F ' ' "$(db_url postgres "$2")" -c "$q" ;;
    esac | xargs printf '%s %s, ' | sed "s/, $/\n/;s/^/$1 $2: /"
}

cmd=${1:-}
shift || true
case $cmd in
    build)
        engines=("$@")
        [ ${#engines[@]} -eq 0 ] && engines=(sqlite postgres)
        for e in "${engines[@]}"; do build "$e"; done
        ;;
    run) . bench/scale-run.sh ;;
    pg-start) pg_start; pg_url postgres ;;
    pg-stop) pg_stop ;;
    *) sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 2 ;;
esac
