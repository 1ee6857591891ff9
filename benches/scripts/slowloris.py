#!/usr/bin/env python3
"""The baseline's latency with and without SLOW slow-header connections open
(issue 21), in alternating rounds of one run against `authbench serve`.

usage: slowloris.py BASE_URL CA_FILE [SLOW] [ROUNDS]

Each round sends 200 GET /baseline on one kept-alive connection and records
each latency; "slow" rounds first open SLOW connections (default 500) that
send a request line and then one header byte a second, reopening any the
server closes (it must: headers are due within 5 s). Prints p50 and p99 per
condition (medians over rounds) and their ratio.
"""

import asyncio
import ssl
import statistics
import sys
import time
from urllib.parse import urlparse


def context(ca):
    ctx = ssl.create_default_context(cafile=ca)
    ctx.check_hostname = False
    return ctx


async def slow_client(host, port, ctx, stop, closed):
    while not stop.is_set():
        try:
            reader, writer = await asyncio.open_connection(host, port, ssl=ctx)
            writer.write(b"GET /baseline HTTP/1.1\r\nHost: x\r\n")
            await writer.drain()
            while not stop.is_set():
                await asyncio.sleep(1)
                writer.write(b"a")
                await writer.drain()
                if reader.at_eof():
                    break
        except (OSError, ssl.SSLError, ConnectionError):
            pass
        closed[0] += 1
        await asyncio.sleep(0.2)


async def measure(host, port, ctx, n=200):
    reader, writer = await asyncio.open_connection(host, port, ssl=ctx)
    out = []
    for _ in range(n):
        start = time.perf_counter()
        writer.write(b"GET /baseline HTTP/1.1\r\nHost: x\r\n\r\n")
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")
        )
        await reader.readexactly(length)
        out.append(time.perf_counter() - start)
    writer.close()
    return out


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


async def main():
    base, ca = sys.argv[1], sys.argv[2]
    slow_count = int(sys.argv[3]) if len(sys.argv) > 3 else 500
    rounds = int(sys.argv[4]) if len(sys.argv) > 4 else 3
    url = urlparse(base)
    ctx = context(ca)
    results = {"quiet": [], "slow": []}
    closed_total = 0
    for _ in range(rounds):
        results["quiet"].append(await measure(url.hostname, url.port, ctx))
        stop, closed = asyncio.Event(), [0]
        tasks = [asyncio.create_task(slow_client(url.hostname, url.port, ctx, stop, closed)) for _ in range(slow_count)]
        await asyncio.sleep(3)  # let them connect and start trickling
        results["slow"].append(await measure(url.hostname, url.port, ctx))
        await asyncio.sleep(4)  # past the 5 s header deadline: the server closes them
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        closed_total += closed[0]
    summary = {}
    for name, runs in results.items():
        summary[name] = (
            statistics.median(pct(r, 50) for r in runs) * 1000,
            statistics.median(pct(r, 99) for r in runs) * 1000,
        )
        print(f"{name:5}: p50 {summary[name][0]:.2f} ms, p99 {summary[name][1]:.2f} ms (median of {rounds} rounds)")
    print(f"with {slow_count} slow connections: p50 ×{summary['slow'][0] / summary['quiet'][0]:.2f}, "
          f"p99 ×{summary['slow'][1] / summary['quiet'][1]:.2f}; slow connections closed by the server: {closed_total}")


asyncio.run(main())
