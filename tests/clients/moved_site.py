#!/usr/bin/env python3
"""git-pw and pwclient, as installed from PyPI, against a site moved from
Patchwork: the migration fixture (testdata/migration/, built by upstream
Patchwork itself) imported with `patchtrack import-patchwork` and served
by `patchtrack serve`. Every user's old API token must authenticate as
that user, and old passwords must work over XML-RPC.

    tests/clients/moved_site.py PATCHTRACK_BINARY
"""

import csv
import io
import json
import lzma
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

BIN = os.path.abspath(sys.argv[1])
HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURE = os.path.join(HERE, "..", "..", "testdata", "migration")
WORK = tempfile.mkdtemp(prefix="patchtrack-moved-")
HOME = os.path.join(WORK, "home")
os.makedirs(HOME)
ENV = dict(os.environ, HOME=HOME)
ENV["PATH"] = os.path.dirname(shutil.which("git-pw") or sys.executable) + os.pathsep + ENV["PATH"]
DB = "sqlite://" + os.path.join(WORK, "pt.db")
STEPS = 0

# The fixture's README: sha1("patchwork-site:" + username), and
# "<username>-pass" for every password.
TOKENS = {
    "admin": "e4cb1be6d1f6cbaaea333cc699c4a0bb213b7236",
    "maint": "29cf2487459721df9918ef94a950ce91bb1ea6b0",
    "maint2": "3967747155a1b036f0169783603f2ccd0af831dd",
    "cibot": "ef97a4e3f595a29f4133c3b7d89ff11eb366c902",
    "alice": "28448ef052e30736b1ce3343bd9b7e63a21321a9",
    "bob": "f96b38a112ed842be18c2bfa52e8efa766a96444",
}


def run(*cmd, cwd=None):
    p = subprocess.run(cmd, cwd=cwd, env=ENV, capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"FAILED: {' '.join(cmd)}\n{p.stdout}\n{p.stderr}")
    return p.stdout


def step(name, ok, detail=""):
    global STEPS
    if not ok:
        raise SystemExit(f"not ok - {name}: {detail!r}"[:3000])
    STEPS += 1
    print(f"ok {STEPS} - moved site: {name}", flush=True)


def api(path, token=None):
    req = urllib.request.Request(URL + path)
    if token:
        req.add_header("Authorization", f"Token {token}")
    with urllib.request.urlopen(req) as r:
        return json.load(r)


source = os.path.join(WORK, "patchwork-site.sqlite3")
with lzma.open(os.path.join(FIXTURE, "patchwork-site.sqlite3.xz")) as f, open(source, "wb") as out:
    shutil.copyfileobj(f, out)
summary = subprocess.run([BIN, "--database", DB, "import-patchwork", "--from", f"sqlite://{source}"],
                         env=ENV, capture_output=True, text=True)
step("import-patchwork of the fixture", summary.returncode == 0 and "0 skipped" in summary.stdout,
     summary.stdout[-2000:] + summary.stderr[-2000:])

sock = socket.socket()
sock.bind(("127.0.0.1", 0))
port = sock.getsockname()[1]
sock.close()
URL = f"http://127.0.0.1:{port}"
server = subprocess.Popen([BIN, "--database", DB, "serve", "--listen", f"127.0.0.1:{port}",
                           "--no-cron"], env=ENV, stderr=subprocess.PIPE)
try:
    for _ in range(100):
        try:
            api("/api/")
            break
        except OSError:
            time.sleep(0.1)

    work = os.path.join(WORK, "repo")
    os.makedirs(work)
    run("git", "init", "-q", work)
    run("git", "config", "pw.server", f"{URL}/api/1.2", cwd=work)

    def git_pw(user, project, *args):
        run("git", "config", "pw.token", TOKENS[user], cwd=work)
        run("git", "config", "pw.project", project, cwd=work)
        return run("git", "pw", *args, cwd=work)

    # Any logged-in user may make a bundle: its owner says whom the old
    # token authenticated.
    for user in TOKENS:
        out = git_pw(user, "synthetic", "bundle", "create", "--public", f"moved-{user}", "3")
        owned = [b for b in api("/api/bundles/?per_page=100") if b["name"] == f"moved-{user}"]
        step(f"git-pw with {user}'s old token makes {user}'s bundle",
             len(owned) == 1 and owned[0]["owner"]["username"] == user, (out, owned))
        git_pw(user, "synthetic", "bundle", "delete", str(owned[0]["id"]))

    listed = list(csv.DictReader(io.StringIO(git_pw("alice", "synthetic", "bundle", "list", "-f", "csv"))))
    step("git-pw shows alice her private imported bundle",
         "my private picks" in [b["Name"] for b in listed], listed)
    listed = list(csv.DictReader(io.StringIO(git_pw("bob", "synthetic", "bundle", "list", "-f", "csv"))))
    step("git-pw hides alice's private bundle from bob",
         "my private picks" not in [b["Name"] for b in listed], listed)

    git_pw("maint", "synthetic", "patch", "update", "--state", "accepted", "--commit-ref", "f00d", "5")
    after = api("/api/patches/5/")
    step("git-pw patch update by the imported maintainer",
         (after["state"], after["commit_ref"]) == ("accepted", "f00d"), after["state"])
    event = api("/api/events/?category=patch-state-changed&patch=5")[0]
    step("the new event names its actor and follows the imported ids",
         event["actor"]["username"] == "maint" and event["id"] > 4525, event)

    # ---- pwclient over REST with old tokens ----
    def pwclient(user, project, *args, backend="rest"):
        with open(os.path.join(HOME, ".pwclientrc"), "w") as f:
            if backend == "rest":
                f.write(f"[options]\ndefault = {project}\n\n[{project}]\nbackend = rest\n"
                        f"url = {URL}/api/\ntoken = {TOKENS[user]}\n")
            else:
                f.write(f"[options]\ndefault = {project}\n\n[{project}]\nbackend = xmlrpc\n"
                        f"url = {URL}/xmlrpc/\nusername = {user}\npassword = {user}-pass\n")
        return run("pwclient", *args, cwd=work)

    pwclient("maint2", "pwtest", "update", "-s", "under-review", "-c", "beef", "1142")
    after = api("/api/patches/1142/")
    step("pwclient update with maint2's old token",
         (after["state"], after["commit_ref"]) == ("under-review", "beef"), after["state"])
    pwclient("cibot", "pwtest", "check-create", "-c", "moved-ci", "-s", "success", "-u",
             "http://ci.example.org/moved", "-d", "after the move", "1142")
    checks = [c for c in api("/api/patches/1142/checks/") if c["context"] == "moved-ci"]
    step("pwclient check-create with cibot's old token",
         len(checks) == 1 and checks[0]["user"]["username"] == "cibot", checks)
    listing = pwclient("alice", "synthetic", "list", "-s", "needs-rebase", "-f", "%{id}")
    step("pwclient list on the imported states", sorted(listing.split()) == ["152", "349"], listing)

    # ---- pwclient over XML-RPC with old passwords ----
    pwclient("maint", "synthetic", "update", "-s", "Under Review", "6", backend="xmlrpc")
    after = api("/api/patches/6/")
    step("pwclient XML-RPC update with maint's old password", after["state"] == "under-review",
         after["state"])
    pwclient("maint", "synthetic", "update", "-s", "New", "6", backend="xmlrpc")
    after = api("/api/patches/6/")
    step("the password still works once re-hashed", after["state"] == "new", after["state"])
finally:
    server.terminate()
    err = server.communicate()[1].decode(errors="replace")
    if "panic" in err:
        print(err)
        raise SystemExit("server panicked")
    shutil.rmtree(WORK, ignore_errors=True)
print(f"moved site: {STEPS} steps passed")
