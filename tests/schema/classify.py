#!/usr/bin/env python3
"""Reads a schemathesis log and fails on any server error or any schema
violation other than those upstream Patchwork shows itself (see
shared/reference/openapi/UPSTREAM-DEVIATIONS.md and docs/compatibility.md).

    classify.py LOG
"""
import re
import sys

# (schema path pattern, violation message pattern, why it is expected);
# a path pattern may start with "OPERATION-REGEX::" to apply to some
# operations only.
ALLOWED = [
    (r"/components/schemas/(Project|ProjectEmbedded)/properties/"
     r"(web_url|scm_url|webscm_url|list_archive_url|list_archive_url_format|commit_url_format)$",
     r".*", "project URLs are free text upstream: '' when unset, never validated on write"),
    (r"/properties/headers", r".*", "headers: strings or lists of strings, as upstream"),
    (r"/components/schemas/Patch\w*/properties/pull_url$", r"is not valid|is not a",
     "pull_url is free text on write, not validated as a URL, as upstream"),
    (r"/components/schemas/Patch\w*/properties/hash$", r"^null is not of type",
     "a pull request without a diff has a null hash, as upstream"),
    (r"/components/schemas/\w+/properties/list_archive_url$", r"is not valid|is not a",
     "list_archive_url comes from the project's unvalidated format, as upstream"),
    (r"/components/schemas/CoverEmbedded$", r"^null is not of type", "Series.cover_letter is null without a cover"),
    (r"/components/schemas/Person(Embedded)?/properties/name$", r"^null is not of type",
     "a person's name is null when the mail had none, as upstream"),
    (r"/events::^/items$", r"anyOf", "event payloads match none of the anyOf shapes upstream either"),
    (r"/components/schemas/Check/properties/target_url$", r'^"" is not valid',
     "a check's target_url may be '', which upstream accepts and returns"),
    (r"/properties/(first_name|last_name)$", r"is longer than",
     "user names up to 150 characters, upstream's model limit (the schema says 30)"),
    (r"/components/schemas/(Bundle/properties/owner|Person/properties/user|Event.*)$", r"oneOf|anyOf",
     "an embedded user with a name longer than the schema's 30 characters"),
    (r"^/properties/\w+$", r'^\[.*\] is not of type "string"',
     "field errors are lists of messages, as upstream (Django REST framework)"),
]

text = open(sys.argv[1], encoding="utf-8", errors="replace").read()
problems = []
expected = {}
operation = "?"
lines = text.splitlines()
for i, line in enumerate(lines):
    m = re.match(r"^_{3,} (.+?) _{3,}$", line)
    if m:
        operation = m.group(1)
        continue
    check = re.match(r"^- (ST\d+|[A-Z].*?)(?: \(|$)", line)
    if check and not line.startswith("- ST108"):
        problems.append(f"{operation}: {line.strip()}")
        continue
    if line.startswith("    Schema at "):
        path = line.split("Schema at ", 1)[1].rstrip(":")
        # The message is the last non-empty indented line before "Validated".
        msg = ""
        for back in range(i - 1, max(i - 8, 0), -1):
            t = lines[back].strip()
            if t and not t.startswith("Validated against"):
                msg = t
                break
        for pattern, message, why in ALLOWED:
            op_pattern, _, path_pattern = pattern.rpartition("::")
            if op_pattern and not re.search(op_pattern, operation):
                continue
            if re.search(path_pattern, path) and re.search(message, msg):
                expected[why] = expected.get(why, 0) + 1
                break
        else:
            problems.append(f"{operation}: {msg} at {path}")
if "Server error" in text or "ST100" in text:
    problems.append("a server error (5xx) was found")
for why, n in sorted(expected.items()):
    print(f"  expected ({n}): {why}")
if problems:
    print("UNEXPECTED:")
    for p in sorted(set(problems)):
        print("  " + p)
    sys.exit(1)
print("  no server error, no unexpected schema violation")
