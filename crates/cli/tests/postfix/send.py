#!/usr/bin/env python3
"""Submits every message of the mbox files to an SMTP server, one
connection, envelope recipient RCPT: what a list's mail does on its way
to the tracker's MTA.

    send.py HOST:PORT RCPT MBOX...
"""
import mailbox
import smtplib
import sys

host, port = sys.argv[1].rsplit(":", 1)
with smtplib.SMTP(host, int(port)) as smtp:
    for path in sys.argv[3:]:
        for msg in mailbox.mbox(path, create=False):
            smtp.sendmail("list-owner@test.local", [sys.argv[2]], msg.as_bytes())
