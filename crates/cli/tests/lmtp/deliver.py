#!/usr/bin/env python3
"""Delivers every message of some mbox files over LMTP with Python's
smtplib.LMTP, from N concurrent clients (a shuffled share each), and
prints the replies' first words as JSON counts.

    deliver.py HOST:PORT CLIENTS MBOX...
"""
import json
import mailbox
import random
import smtplib
import sys
import threading

host, port = sys.argv[1].rsplit(":", 1)
clients = int(sys.argv[2])
messages = []
for path in sys.argv[3:]:
    for m in mailbox.mbox(path):
        messages.append(m.as_bytes(unixfrom=False))
random.Random(11).shuffle(messages)
counts = {}
lock = threading.Lock()


def client(share):
    lmtp = smtplib.LMTP(host, int(port))
    lmtp.ehlo_or_helo_if_needed = lambda: None
    code, _ = lmtp.docmd("LHLO", "test.example.org")
    assert code == 250, code
    lmtp.does_esmtp = True
    for raw in share:
        try:
            lmtp.sendmail("sender@example.org", ["list@example.org"], raw)
            key = "250"
        except smtplib.SMTPResponseException as e:
            key = str(e.smtp_code)
        except smtplib.SMTPRecipientsRefused as e:
            key = "refused"
        with lock:
            counts[key] = counts.get(key, 0) + 1
    lmtp.quit()


threads = [threading.Thread(target=client, args=(messages[k::clients],)) for k in range(clients)]
for t in threads:
    t.start()
for t in threads:
    t.join()
counts["sent"] = len(messages)
print(json.dumps(counts, sort_keys=True))
