#!/usr/bin/env python3
"""git-pw, pwclient and b4, as installed from PyPI, against a running
`patchtrack serve`. Every step asserts what the client printed or what
the server then holds, not just the exit status.

    tests/clients/clients.py PATCHTRACK_BINARY
"""

import csv
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import xmlrpc.client

BIN = os.path.abspath(sys.argv[1])
WORK = tempfile.mkdtemp(prefix="patchtrack-clients-")
HOME = os.path.join(WORK, "home")
os.makedirs(HOME)
ENV = dict(os.environ, HOME=HOME, GIT_AUTHOR_DATE="2024-01-02T03:04:05",
           GIT_COMMITTER_DATE="2024-01-02T03:04:05")
DB = "sqlite://" + os.path.join(WORK, "pt.db")
STEPS = 0


def run(*cmd, cwd=None, input=None, check=True):
    p = subprocess.run(cmd, cwd=cwd, env=ENV, input=input, capture_output=True, text=True)
    if check and p.returncode != 0:
        raise SystemExit(f"FAILED {' '.join(cmd)}\nstdout:\n{p.stdout}\nstderr:\n{p.stderr}")
    return p.stdout


def step(name, ok, detail=""):
    global STEPS
    STEPS += 1
    if not ok:
        raise SystemExit(f"FAILED step {name}: {detail}")
    print(f"ok {STEPS} - {name}")


def pt(*args, input=None):
    return run(BIN, "--database", DB, *args, input=input)


def git(repo, *args):
    return run("git", *args, cwd=repo)


def api(path, token=None):
    req = urllib.request.Request(URL + path)
    if token:
        req.add_header("Authorization", f"Token {token}")
    with urllib.request.urlopen(req) as r:
        return json.load(r), r.headers


def rows(text):
    return list(csv.DictReader(io.StringIO(text)))


# A repository with a base commit, a 2-patch series (with cover letter)
# and a 35-patch series, mailed with git format-patch.
repo = os.path.join(WORK, "repo")
os.makedirs(repo)
git(repo, "init", "-q", "-b", "main")
git(repo, "config", "user.name", "Jo Dev")
git(repo, "config", "user.email", "jo@example.org")
with open(os.path.join(repo, "a.txt"), "w") as f:
    f.write("one\n")
git(repo, "add", "a.txt")
git(repo, "commit", "-qm", "base")
base = git(repo, "rev-parse", "HEAD").strip()
for i, text in enumerate(["two\n", "three\n"]):
    with open(os.path.join(repo, "a.txt"), "a") as f:
        f.write(text)
    git(repo, "commit", "-qam", f"a: add line {i + 2}\n\nBecause we need it.\n\nSigned-off-by: Jo Dev <jo@example.org>")
git(repo, "checkout", "-q", "-b", "many", base)
for i in range(35):
    with open(os.path.join(repo, f"f{i}.txt"), "w") as f:
        f.write(f"{i}\n")
    git(repo, "add", f"f{i}.txt")
    git(repo, "commit", "-qm", f"f{i}: new file")
mails = os.path.join(WORK, "mails")
for branch, extra in [("main", ["--cover-letter"]), ("many", [])]:
    out = os.path.join(mails, branch)
    git(repo, "format-patch", "-q", "--thread", *extra, "--add-header=List-Id: <proj.example.org>",
        "-o", out, f"{base}..{branch}")

pt("project", "add", "--linkname", "proj", "--name", "Proj", "--listid", "proj.example.org",
   "--listemail", "proj@lists.example.org")
pt("user", "add", "maint", "--email", "maint@example.org", "--password", "secret",
   "--maintainer-of", "proj")
TOKEN = pt("token", "create", "maint").strip()
for branch in ["main", "many"]:
    d = os.path.join(mails, branch)
    for name in sorted(os.listdir(d)):
        with open(os.path.join(d, name)) as f:
            pt("parsemail", input=f.read())

sock = socket.socket()
sock.bind(("127.0.0.1", 0))
port = sock.getsockname()[1]
sock.close()
URL = f"http://127.0.0.1:{port}"
server = subprocess.Popen([BIN, "--database", DB, "serve", "--listen", f"127.0.0.1:{port}"],
                          env=ENV, stderr=subprocess.PIPE)
try:
    for _ in range(100):
        try:
            api("/api/")
            break
        except OSError:
            time.sleep(0.1)
    patches, _ = api("/api/patches/?per_page=250")
    step("server holds 37 patches", len(patches) == 37, len(patches))
    first = [p for p in patches if p["name"].startswith("[1/2]")][0]
    second = [p for p in patches if p["name"].startswith("[2/2]")][0]

    # ---- git-pw ----
    work = os.path.join(WORK, "gitpw")
    run("git", "clone", "-q", repo, work)
    git(work, "checkout", "-q", "-b", "test", base)
    git(work, "config", "user.name", "Maint")
    git(work, "config", "user.email", "maint@example.org")
    git(work, "config", "pw.server", f"{URL}/api/1.2")
    git(work, "config", "pw.project", "proj")
    git(work, "config", "pw.token", TOKEN)
    gp = lambda *a: git(work, "pw", *a)  # noqa: E731
    ENV["PATH"] = os.path.dirname(shutil.which("git-pw") or sys.executable) + os.pathsep + ENV["PATH"]

    listed = rows(gp("patch", "list", "-f", "csv", "--limit", "100"))
    step("git-pw patch list shows the new patches", len(listed) == 37 and
         any(r["Name"] == first["name"] for r in listed), listed[:2])
    shown = gp("patch", "show", str(first["id"]), "-f", "csv")
    step("git-pw patch show", first["msgid"] in shown and "new" in shown, shown)
    gp("patch", "update", "--state", "under-review", "--commit-ref", "abc123", "--archived", "no",
       str(first["id"]))
    after, _ = api(f"/api/patches/{first['id']}/")
    step("git-pw patch update", (after["state"], after["commit_ref"]) == ("under-review", "abc123"), after["state"])
    dl = os.path.join(WORK, "dl")
    os.makedirs(dl)
    out = gp("patch", "download", str(first["id"]), dl)
    files = os.listdir(dl)
    step("git-pw patch download names the file", files == ["1-2-a-add-line-2.patch"], (files, out))
    series = rows(gp("series", "list", "-f", "csv"))
    step("git-pw series list", len(series) == 2, series)
    sid = first["series"][0]["id"]
    sshow = gp("series", "show", str(sid), "-f", "csv")
    step("git-pw series show", "a: add line 2" in sshow and "a: add line 3" in sshow, sshow)
    gp("series", "apply", str(sid))
    log = git(work, "log", "--format=%s", f"{base}..HEAD")
    step("git-pw series apply", log.splitlines() == ["a: add line 3", "a: add line 2"], log)
    git(work, "reset", "-q", "--hard", base)
    gp("patch", "apply", str(first["id"]))
    log = git(work, "log", "--format=%s%n%b", f"{base}..HEAD")
    step("git-pw patch apply", log.startswith("a: add line 2\nBecause we need it."), log)
    gp("bundle", "create", "--public", "mybundle", str(first["id"]), str(second["id"]))
    bundles = rows(gp("bundle", "list", "-f", "csv"))
    step("git-pw bundle create/list", [b["Name"] for b in bundles] == ["mybundle"], bundles)
    bid = bundles[0]["ID"]
    bshow = gp("bundle", "show", bid, "-f", "csv")
    step("git-pw bundle show", first["name"] in bshow and second["name"] in bshow, bshow)
    gp("bundle", "update", "--name", "renamed", bid)
    b, _ = api(f"/api/bundles/{bid}/")
    step("git-pw bundle update", b["name"] == "renamed", b["name"])
    gp("bundle", "delete", bid)
    remaining, _ = api("/api/bundles/")
    step("git-pw bundle delete", remaining == [], remaining)

    # ---- pwclient (REST) ----
    with open(os.path.join(HOME, ".pwclientrc"), "w") as f:
        f.write(f"[options]\ndefault = proj\n\n[proj]\nbackend = rest\nurl = {URL}/api/\ntoken = {TOKEN}\n")
    pc = lambda *a: run("pwclient", *a, cwd=work)  # noqa: E731
    listing = pc("list", "-f", "%{id} %{state} %{name}")
    step("pwclient list follows Link next past page 1", len(listing.strip().splitlines()) == 37, listing)
    new_only = pc("list", "-s", "new", "-f", "%{id}")
    step("pwclient list with a state filter", len(new_only.split()) == 36, new_only)
    info = pc("info", str(second["id"]))
    step("pwclient info", second["hash"] in info, info)
    pc("update", "-s", "accepted", "-c", "deadbeef", str(second["id"]))
    after, _ = api(f"/api/patches/{second['id']}/")
    step("pwclient update", (after["state"], after["commit_ref"]) == ("accepted", "deadbeef"), after["state"])
    git(work, "reset", "-q", "--hard", base)
    pc("git-am", str(first["id"]))
    log = git(work, "log", "--format=%s", f"{base}..HEAD")
    step("pwclient git-am", log.strip() == "a: add line 2", log)
    pc("check-create", "-c", "ci-build", "-s", "success", "-u", "http://ci.example.org/1",
       "-d", "Build OK", str(first["id"]))
    checks = pc("check-list", str(first["id"]))
    step("pwclient check-create/check-list", "ci-build" in checks and "success" in checks, checks)
    events = pc("event-list", "-c", "check-created")
    step("pwclient event-list", "check-created" in events or str(first["id"]) in events, events)

    # ---- b4 ----
    with open(os.path.join(HOME, ".gitconfig"), "a") as f:
        f.write(f"[b4]\n\tpw-url = {URL}\n\tpw-key = {TOKEN}\n\tpw-project = proj\n")
    b4_script = f"""
import json, b4, requests
b4._setup_main_config()
msgid = {json.dumps(second['msgid'].strip('<>'))}
data = b4.LoreMessage.get_patchwork_data_by_msgid(msgid)
b4.patchwork_set_state([msgid], 'changes-requested')
ses, url = b4.get_patchwork_session({json.dumps(TOKEN)}, {json.dumps(URL)})
r = ses.get(url + '/patches', params=[('project', 'proj'), ('state', 'new'), ('state', 'under-review'),
    ('order', '-date'), ('per_page', '1'), ('archived', 'false')])
last = r.links['last']['url']
print(json.dumps({{'id': data['id'], 'url': url, 'last': last}}))
"""
    b4_python = os.path.join(os.path.dirname(shutil.which("b4")), "python")
    out = json.loads(run(b4_python if os.path.exists(b4_python) else sys.executable, "-c", b4_script, cwd=work))
    step("b4 looks a patch up by msgid (no trailing slash)", out["id"] == second["id"], out)
    after, _ = api(f"/api/patches/{second['id']}/")
    step("b4 sets the state", after["state"] == "changes-requested", after["state"])
    backlog = int(out["last"].split("page=")[1].split("&")[0])
    step("b4 counts the backlog from rel=last", backlog == 36, out["last"])

    # ---- XML-RPC: Python's xmlrpc.client calling every method ----
    rpc = xmlrpc.client.ServerProxy(f"{URL}/xmlrpc/", allow_none=True)
    authed = xmlrpc.client.ServerProxy(f"http://maint:secret@127.0.0.1:{port}/xmlrpc/",
                                       allow_none=True)
    PATCH_KEYS = ["id", "date", "filename", "msgid", "name", "project", "project_id", "state",
                  "state_id", "archived", "submitter", "submitter_id", "delegate", "delegate_id",
                  "commit_ref", "hash"]
    CHECK_KEYS = ["id", "date", "patch", "patch_id", "user", "user_id", "state", "target_url",
                  "description", "context"]
    # Fields Patchwork sends as bytes (<base64>).
    PATCH_BINARY = {"date", "project", "state", "submitter", "delegate"}
    CHECK_BINARY = {"date", "patch", "user"}

    def shaped(obj, keys, binary):
        return list(obj) == keys and all(isinstance(obj[k], xmlrpc.client.Binary) == (k in binary)
                                          for k in keys)

    step("xmlrpc pw_rpc_version", rpc.pw_rpc_version() == [1, 3, 0])
    projects = rpc.project_list("", 0)
    step("xmlrpc project_list", [list(p) for p in projects] == [["id", "linkname", "name"]]
         and projects[0]["linkname"] == "proj", projects)
    proj_id = projects[0]["id"]
    step("xmlrpc project_get", rpc.project_get(proj_id)["name"] == "Proj" and rpc.project_get(999) == {})
    people = rpc.person_list("JO@", 0)
    step("xmlrpc person_list", len(people) == 1 and list(people[0]) == ["id", "email", "name", "user"]
         and people[0]["user"].data == b"None" and people[0]["name"] == "Jo Dev", people)
    step("xmlrpc person_get", rpc.person_get(people[0]["id"])["email"] == "jo@example.org")
    listed = rpc.patch_list({"project_id": proj_id})
    step("xmlrpc patch_list", len(listed) == 37 and all(shaped(p, PATCH_KEYS, PATCH_BINARY) for p in listed),
         listed[:1])
    last3 = rpc.patch_list({"project_id": proj_id, "max_count": -3})
    step("xmlrpc patch_list max_count -3", [p["id"] for p in last3] == [p["id"] for p in listed[-3:]])
    by_name = rpc.patch_list({"name__icontains": "ADD LINE 3"})
    step("xmlrpc patch_list name__icontains", [p["id"] for p in by_name] == [second["id"]], by_name)
    got = rpc.patch_get(first["id"])
    step("xmlrpc patch_get", got["msgid"] == first["msgid"] and got["hash"] == first["hash"]
         and got["state"].data == b"Under Review" and got["date"].data.decode() ==
         first["date"].replace("T", " "), got)
    step("xmlrpc patch_get_by_hash", rpc.patch_get_by_hash(first["hash"])["id"] == first["id"])
    step("xmlrpc patch_get_by_project_hash",
         rpc.patch_get_by_project_hash("proj", first["hash"])["id"] == first["id"])
    mbox = rpc.patch_get_mbox(first["id"])
    step("xmlrpc patch_get_mbox", first['msgid'] in mbox and "+two" in mbox, mbox[:300])
    rest_patch, _ = api(f"/api/patches/{first['id']}/")
    step("xmlrpc patch_get_diff", rpc.patch_get_diff(first["id"]) == rest_patch["diff"])
    states = rpc.state_list("", 0)
    step("xmlrpc state_list", [s["name"] for s in states][:3] == ["New", "Under Review", "Accepted"], states)
    step("xmlrpc state_get", rpc.state_get(states[0]["id"]) == {"id": states[0]["id"], "name": "New"})
    try:
        rpc.patch_set(first["id"], {"archived": True})
        refused = None
    except xmlrpc.client.Fault as fault:
        refused = fault
    step("xmlrpc patch_set needs credentials", refused is not None and refused.faultCode == 1 and
         refused.faultString == "<class 'Exception'>:No authentication credentials given", refused)
    rejected = [s["id"] for s in states if s["name"] == "Rejected"][0]
    ok = authed.patch_set(first["id"], {"state": rejected, "archived": True, "commit_ref": "c0ffee"})
    after, _ = api(f"/api/patches/{first['id']}/")
    step("xmlrpc patch_set", ok is True and (after["state"], after["archived"], after["commit_ref"]) ==
         ("rejected", True, "c0ffee"), after["state"])
    ok = authed.check_create(first["id"], "xmlrpc-ci", "fail", "http://ci.example.org/2", "Broke")
    checks = rpc.check_list({"patch_id": first["id"]})
    step("xmlrpc check_create/check_list", ok is True and len(checks) == 2 and
         all(shaped(c, CHECK_KEYS, CHECK_BINARY) for c in checks) and checks[1]["context"] == "xmlrpc-ci", checks)
    step("xmlrpc check_get", rpc.check_get(checks[1]["id"])["description"] == "Broke")
    summary = rpc.patch_check_get(first["id"])
    step("xmlrpc patch_check_get", list(summary) == ["state", "total", "checks"] and
         summary["state"] == "fail" and summary["total"] == 2, summary)

    # ---- pwclient over XML-RPC ----
    with open(os.path.join(HOME, ".pwclientrc"), "w") as f:
        f.write(f"[options]\ndefault = proj\n\n[proj]\nbackend = xmlrpc\nurl = {URL}/xmlrpc/\n"
                "username = maint\npassword = secret\n")
    listing = pc("list", "-f", "%{id}")
    step("pwclient xmlrpc list", sorted(map(int, listing.split())) == sorted(p["id"] for p in listed),
         listing)
    firsts = pc("list", "-n", "2", "-f", "%{id}").split()
    step("pwclient xmlrpc list -n", firsts == [str(p["id"]) for p in listed[:2]], firsts)
    lasts = pc("list", "-N", "1", "-f", "%{id}").split()
    step("pwclient xmlrpc list -N", lasts == [str(listed[-1]["id"])], lasts)
    by_state = pc("list", "-s", "Rejected", "-f", "%{id}").split()
    step("pwclient xmlrpc list -s", by_state == [str(first["id"])], by_state)
    # A heading names the person, then one line per patch.
    by_who = [w for w in pc("list", "-w", "Jo Dev", "-f", "%{id}").split() if w.isdigit()]
    step("pwclient xmlrpc list -w", len(by_who) == 37, by_who[:3])
    info = pc("info", str(second["id"]))
    step("pwclient xmlrpc info", f"- hash          : {second['hash']}" in info and
         "- state         : Changes Requested" in info, info)
    info = pc("info", "-h", second["hash"])
    step("pwclient xmlrpc info -h HASH", f"Information for patch id {second['id']}" in info, info)
    view = pc("view", str(second["id"]))
    step("pwclient xmlrpc view", second['msgid'] in view, view[:200])
    gotten = pc("get", str(second["id"]))
    saved = os.path.join(work, "2-2-a-add-line-3.patch")
    step("pwclient xmlrpc get", os.path.exists(saved) and "+three" in open(saved).read(), gotten)
    os.remove(saved)
    pc("update", "-s", "Under Review", "-a", "yes", "-c", "feedface", str(second["id"]))
    after, _ = api(f"/api/patches/{second['id']}/")
    step("pwclient xmlrpc update", (after["state"], after["archived"], after["commit_ref"]) ==
         ("under-review", True, "feedface"), after)
    pc("check-create", "-c", "lab", "-s", "warning", "-u", "http://lab.example.org/", "-d", "Flaky",
       str(second["id"]))
    listed_checks = pc("check-list", str(second["id"]))
    step("pwclient xmlrpc check-create/check-list", "lab" in listed_checks and "warning" in listed_checks,
         listed_checks)
    cid = rpc.check_list({"patch_id": second["id"]})[0]["id"]
    check_info = pc("check-info", str(second["id"]), str(cid))
    step("pwclient xmlrpc check-info", "- description   : Flaky" in check_info, check_info)
    step("pwclient xmlrpc projects", "proj" in pc("projects"))
    step("pwclient xmlrpc states", "Under Review" in pc("states"))
finally:
    server.terminate()
    err = server.communicate()[1].decode(errors="replace")
    if "panic" in err:
        print(err)
        raise SystemExit("server panicked")
    shutil.rmtree(WORK, ignore_errors=True)
print(f"clients: {STEPS} steps passed")
