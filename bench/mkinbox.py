#!/usr/bin/env python3
"""Writes the messages of an mbox (plain or .xz) as a public-inbox v2
epoch, DIR/git/0.git, with `git fast-import`: one commit per message
whose tree holds the message as `m`, as public-inbox-mda writes them, in
seconds instead of the mda's third of a second per mail. For benchmarks;
the tests use the real tools.

    mkinbox.py MBOX DIR
"""
import lzma
import mailbox
import os
import subprocess
import sys
import tempfile

src, out = sys.argv[1], sys.argv[2]
if src.endswith(".xz"):
    tmp = tempfile.NamedTemporaryFile(suffix=".mbox", delete=False)
    with lzma.open(src) as f:
        tmp.write(f.read())
    tmp.close()
    src = tmp.name
epoch = os.path.join(out, "git", "0.git")
subprocess.run(["git", "init", "-q", "--bare", epoch], check=True)
fi = subprocess.Popen(["git", "--git-dir", epoch, "fast-import", "--quiet"],
                      stdin=subprocess.PIPE)
when = 1_500_000_000
box = mailbox.mbox(src, create=False)
for i, key in enumerate(box.iterkeys()):
    # The bytes as stored, not as Python would re-serialise them.
    raw = box.get_bytes(key)
    subject = b"message %d" % i
    w = fi.stdin.write
    w(b"commit refs/heads/master\n")
    w(b"author A U Thor <a@example.org> %d +0000\n" % (when + i))
    w(b"committer inbox <inbox@example.org> %d +0000\n" % (when + i))
    w(b"data %d\n%s\n" % (len(subject), subject))
    w(b"M 100644 inline m\ndata %d\n%s\n" % (len(raw), raw))
fi.stdin.close()
if fi.wait() != 0:
    sys.exit("git fast-import failed")
subprocess.run(["git", "--git-dir", epoch, "symbolic-ref", "HEAD", "refs/heads/master"], check=True)
