#!/usr/bin/env bash
# Paired serve runs: server CPU per request and throughput, base then new,
# each binary on its own copy of an imported database.
#   bench/ab-serve.sh  (expects /tmp/pt-base, /tmp/pt-new, /tmp/ab/{base,new}.db)
set -euo pipefail
tick=$(getconf CLK_TCK)
for round in 1 2; do
for which in base new; do
  bin=/tmp/pt-$which; db=/tmp/ab/$which.db
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  "$bin" --database "sqlite://$db" serve --listen 127.0.0.1:$port 2>/dev/null &
  pid=$!
  until curl -sf "http://127.0.0.1:$port/api/" >/dev/null; do sleep 0.1; done
  for path in "/api/patches/5000/" "/api/patches/?per_page=30"; do
    curl -s -o /dev/null "http://127.0.0.1:$port$path"
    read -r u0 s0 < <(awk '{print $14, $15}' /proc/$pid/stat)
    out=$(wrk -t1 -c16 -d8s "http://127.0.0.1:$port$path")
    read -r u1 s1 < <(awk '{print $14, $15}' /proc/$pid/stat)
    reqs=$(awk '/requests in/ {print $1}' <<<"$out")
    rps=$(awk '/Requests\/sec/ {print int($2)}' <<<"$out")
    cpu_us=$(python3 -c "print(round(($u1-$u0+$s1-$s0)/$tick*1e6/$reqs,1))")
    echo "round $round $which $path: $rps req/s, $cpu_us us server CPU per request ($reqs requests)"
  done
  kill $pid; wait $pid 2>/dev/null || true
done
done
