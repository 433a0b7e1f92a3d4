#!/usr/bin/env python3
"""Helpers of bench/push.sh (standard library only).

  receiver PORT LOG         a webhook receiver: one line per POST to LOG,
                            "<unix time> <path> <event id>"
  subscribers URL N OUT     N Server-Sent Events subscribers of URL; when
                            all are connected writes "ready" to OUT, then
                            one line per subscriber with the unix time its
                            first event arrived, once every one has one
  mbox SRC N DST            the first N messages of the mbox SRC
"""
import asyncio
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def receiver(port, log):
    out = open(log, "a", buffering=1)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            event = json.loads(body)["id"]
            out.write(f"{time.time():.6f} {self.path} {event}\n")
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer(("127.0.0.1", int(port)), Handler).serve_forever()


async def subscriber(host, port, path, connected, arrivals, i):
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(
        f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAccept: text/event-stream\r\n\r\n".encode()
    )
    await writer.drain()
    connected.append(i)
    while True:
        line = await reader.readline()
        if not line:
            return
        if line.startswith(b"id: "):
            arrivals[i] = time.time()
            return


async def subscribers(url, n, out):
    rest = url.split("://", 1)[1]
    hostport, _, path = rest.partition("/")
    host, _, port = hostport.partition(":")
    connected, arrivals = [], {}
    tasks = [
        asyncio.create_task(subscriber(host, int(port), "/" + path, connected, arrivals, i))
        for i in range(n)
    ]
    while len(connected) < n:
        await asyncio.sleep(0.05)
    await asyncio.sleep(1)
    with open(out, "w") as f:
        f.write("ready\n")
    await asyncio.gather(*tasks)
    with open(out, "a") as f:
        for i in range(n):
            f.write(f"{arrivals[i]:.6f}\n")


def mbox(src, n, dst):
    n = int(n)
    count = 0
    with open(src, "rb") as f, open(dst, "wb") as o:
        for line in f:
            if line.startswith(b"From ") and count >= 0:
                count += 1
                if count > n:
                    break
            o.write(line)


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "receiver":
        receiver(*args)
    elif cmd == "subscribers":
        asyncio.run(subscribers(args[0], int(args[1]), args[2]))
    elif cmd == "mbox":
        mbox(*args)
