#!/usr/bin/env python3
"""A Patchwork site of any size, for benchmarking `import-patchwork`.

    bench/mkpatchwork.py OUT.sqlite3 PATCHES

Starts from the migration fixture (testdata/migration/: a site upstream
Patchwork itself built, schema 0048) and appends copies of its
submissions until the site holds at least PATCHES patches: every copy
repeats the fixture's series, series references, covers, patches, tag
counts, patch and cover comments and their events, with ids shifted past
the ones before and message-ids made unique by a suffix, so the result is
a valid Patchwork database of the same shape (about 7 rows per patch).
"""

import lzma
import os
import shutil
import sqlite3
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURE = os.path.join(HERE, "..", "testdata", "migration", "patchwork-site.sqlite3.xz")

out, want = sys.argv[1], int(sys.argv[2])
if os.path.exists(out):
    os.remove(out)
with lzma.open(FIXTURE) as f, open(out, "wb") as o:
    shutil.copyfileobj(f, o)
db = sqlite3.connect(out)
db.execute("PRAGMA journal_mode = OFF")
db.execute("PRAGMA synchronous = OFF")

# Columns of each copied table, with the expressions that shift a copy.
# :k is the copy number, :o_<table> the id offset of that table.
COPIES = {
    "patchwork_cover": {
        "id": "id + :o_cover", "msgid": "msgid || '.' || :k",
        "date": "date", "headers": "headers", "content": "content", "name": "name",
        "project_id": "project_id", "submitter_id": "submitter_id",
    },
    "patchwork_series": {
        "id": "id + :o_series", "name": "name", "date": "date", "version": "version",
        "total": "total", "project_id": "project_id", "submitter_id": "submitter_id",
        "cover_letter_id": "cover_letter_id + :o_cover",
    },
    "patchwork_seriesreference": {
        "id": "id + :o_seriesreference", "msgid": "msgid || '.' || :k",
        "project_id": "project_id", "series_id": "series_id + :o_series",
    },
    "patchwork_patch": {
        "id": "id + :o_patch", "msgid": "msgid || '.' || :k", "date": "date",
        "headers": "headers", "content": "content", "name": "name",
        "project_id": "project_id", "submitter_id": "submitter_id", "archived": "archived",
        "commit_ref": "commit_ref", "delegate_id": "delegate_id", "diff": "diff",
        "number": "number", "pull_url": "pull_url", "related_id": "NULL",
        "series_id": "series_id + :o_series", "state_id": "state_id", "hash": "hash",
    },
    "patchwork_patchtag": {
        "id": "id + :o_patchtag", "count": "count", "tag_id": "tag_id",
        "patch_id": "patch_id + :o_patch",
    },
    "patchwork_patchcomment": {
        "id": "id + :o_patchcomment", "msgid": "msgid || '.' || :k", "date": "date",
        "headers": "headers", "content": "content", "submitter_id": "submitter_id",
        "patch_id": "patch_id + :o_patch", "addressed": "addressed",
    },
    "patchwork_covercomment": {
        "id": "id + :o_covercomment", "msgid": "msgid || '.' || :k", "date": "date",
        "headers": "headers", "content": "content", "submitter_id": "submitter_id",
        "cover_id": "cover_id + :o_cover", "addressed": "addressed",
    },
    # The mail's events; the site's own activity (states, checks,
    # relations) happened once, on the originals.
    "patchwork_event": {
        "id": "id + :o_event", "category": "category", "date": "date", "actor_id": "NULL",
        "project_id": "project_id", "series_id": "series_id + :o_series",
        "cover_id": "cover_id + :o_cover", "patch_id": "patch_id + :o_patch",
        "cover_comment_id": "cover_comment_id + :o_covercomment",
        "patch_comment_id": "patch_comment_id + :o_patchcomment",
    },
}
EVENT_FILTER = ("category IN ('patch-created', 'patch-completed', 'series-created', "
                "'series-completed', 'cover-created', 'patch-comment-created', "
                "'cover-comment-created')")

span = {t: db.execute(f"SELECT MAX(id) FROM {t}").fetchone()[0] for t in COPIES}
patches = span["patchwork_patch"]
copies = max(0, -(-want // patches) - 1)
started = time.time()
for k in range(1, copies + 1):
    params = {"k": k}
    for t in COPIES:
        params["o_" + t.removeprefix("patchwork_")] = span[t] * k
    for t, cols in COPIES.items():
        names = ", ".join(f'"{c}"' for c in cols)
        exprs = ", ".join(cols.values())
        where = f"id <= {span[t]}"
        if t == "patchwork_event":
            where += " AND " + EVENT_FILTER
        db.execute(f"INSERT INTO {t} ({names}) SELECT {exprs} FROM {t} WHERE {where}", params)
    if k % 50 == 0 or k == copies:
        db.commit()
        print(f"{k}/{copies} copies, {patches * (k + 1)} patches, {time.time() - started:.0f} s",
              file=sys.stderr, flush=True)
db.commit()
for t in COPIES:
    n = db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
    print(f"{t:28} {n:>10}")
db.close()
