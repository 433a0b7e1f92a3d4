#!/usr/bin/env python3
"""Compares two patchtrack SQLite databases: the number of patches,
covers, comments and series, and each series' cover and patches (by
message-id). With --counts, prints one database's counts and groups,
for a test to compare.

    compare.py A.db B.db
    compare.py --counts A.db
"""
import sqlite3
import sys


def counts(db):
    c = sqlite3.connect(db)
    return {t: c.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
            for t in ("patch", "cover", "patch_comment", "cover_comment", "series")}


def grouping(db):
    c = sqlite3.connect(db)
    groups = {}
    for sid, cover in c.execute(
            "SELECT s.id, COALESCE(c.msgid, '') FROM series s LEFT JOIN cover c ON c.id = s.cover_letter_id"):
        groups[sid] = [cover]
    for sid, msgid in c.execute("SELECT series_id, msgid FROM patch WHERE series_id IS NOT NULL ORDER BY msgid"):
        groups.setdefault(sid, [""]).append(msgid)
    return sorted(tuple(g) for g in groups.values())


if sys.argv[1] == "--counts":
    print(counts(sys.argv[2]))
    for group in grouping(sys.argv[2]):
        print(" ".join(group))
    sys.exit(0)

a, b = sys.argv[1], sys.argv[2]
ca, cb = counts(a), counts(b)
ga, gb = grouping(a), grouping(b)
print(f"{ca} / {cb}")
if ca != cb or ga != gb:
    print("DIFFERENT")
    sys.exit(1)
print("same")
