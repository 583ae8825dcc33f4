#!/usr/bin/env python3
"""Hostile traffic for scripts/soak.sh, beside a loadgen run of valid tiles.

For SECS seconds against BASE (http://host:port):
  - SLOW connections that send half a request head and then nothing; each
    one the server cuts off is reopened, so SLOW stay open all the time;
  - hostile requests, one at a time (about 20/s): boxes beyond the world for
    barbs, NaN/inf boxes, giant sizes, tiny contour intervals, overlong URIs,
    path traversal, unknown layers;
  - a /healthz probe every 100 ms on a fresh connection, timed.
Prints one JSON object: healthz latencies, hostile statuses, slow-client
reconnects.

usage: soak_traffic.py BASE SECS SLOW
"""
import asyncio
import json
import sys
import time
from urllib.parse import urlsplit

BASE, SECS, SLOW = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
HOST, PORT = urlsplit(BASE).hostname, urlsplit(BASE).port

WMS = "/wms?SERVICE=WMS&REQUEST=GetMap&VERSION=1.3.0&FORMAT=image/png&WIDTH=256&HEIGHT=256"
HOSTILE = [
    WMS + "&LAYERS=gfs_WIND_10m&STYLES=wind_barbs&CRS=EPSG:3857&BBOX=-2e12,-2e12,2e12,2e12",
    WMS + "&LAYERS=gfs_WIND_10m&STYLES=wind_arrows&CRS=CRS:84&BBOX=-1e6,-90,1e6,90",
    WMS + "&LAYERS=gfs_WIND_10m&STYLES=wind_barbs&CRS=CRS:84&BBOX=-360000,-90,360000,90",
    WMS + "&LAYERS=gfs_TMP_2m&STYLES=gradient&CRS=CRS:84&BBOX=-inf,-90,180,90",
    WMS + "&LAYERS=gfs_TMP_2m&STYLES=gradient&CRS=CRS:84&BBOX=NaN,-90,180,90",
    WMS.replace("WIDTH=256&HEIGHT=256", "WIDTH=100000&HEIGHT=100000")
    + "&LAYERS=gfs_TMP_2m&STYLES=gradient&CRS=CRS:84&BBOX=-180,-90,180,90",
    WMS.replace("WIDTH=256&HEIGHT=256", "WIDTH=4096&HEIGHT=4096")
    + "&LAYERS=gfs_PRMSL_msl&STYLES=isolines&CRS=CRS:84&BBOX=-180,-90,180,90&CONTOURINTERVAL=0.05",
    "/tiles/gfs_TMP_2m/gradient/1/0/0.png?SYMBOLSPACING=1",
    "/tiles/gfs_TMP_2m/gradient/99/0/0.png",
    "/tiles/../../etc/passwd/gradient/1/0/0.png",
    "/legend/%2e%2e%2fetc/x.png",
    "/wmts?SERVICE=WMTS&REQUEST=GetTile&LAYER=nope&pad=" + "x" * 20000,
    "/wms?SERVICE=WMS&REQUEST=GetCapabilities&pad=" + "x" * 200000,
]


async def request(path, timeout=30.0):
    """One GET on a fresh connection: (status or None, seconds)."""
    started = time.perf_counter()
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(HOST, PORT), timeout)
        writer.write(f"GET {path} HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n".encode())
        await writer.drain()
        line = await asyncio.wait_for(reader.readline(), timeout)
        await asyncio.wait_for(reader.read(), timeout)
        writer.close()
        status = int(line.split()[1]) if line.startswith(b"HTTP/") else None
    except (OSError, asyncio.TimeoutError, ValueError, IndexError):
        status = None
    return status, time.perf_counter() - started


async def slow_client(deadline, counts):
    while time.monotonic() < deadline:
        try:
            reader, writer = await asyncio.open_connection(HOST, PORT)
            writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            await writer.drain()
            counts["opened"] += 1
            await asyncio.wait_for(reader.read(), max(0.1, deadline - time.monotonic()))
            counts["cut_off"] += 1
            writer.close()
        except asyncio.TimeoutError:
            return
        except OSError:
            counts["refused"] += 1
            await asyncio.sleep(0.5)


async def hostile(deadline, statuses):
    k = 0
    while time.monotonic() < deadline:
        status, _ = await request(HOSTILE[k % len(HOSTILE)])
        statuses[str(status)] = statuses.get(str(status), 0) + 1
        k += 1
        await asyncio.sleep(0.05)


async def probe(deadline, latencies, failures):
    while time.monotonic() < deadline:
        status, secs = await request("/healthz", timeout=5.0)
        if status == 200:
            latencies.append(secs * 1000)
        else:
            failures.append(status)
        await asyncio.sleep(0.1)


async def main():
    deadline = time.monotonic() + SECS
    counts = {"opened": 0, "cut_off": 0, "refused": 0}
    statuses, latencies, failures = {}, [], []
    await asyncio.gather(
        *(slow_client(deadline, counts) for _ in range(SLOW)),
        hostile(deadline, statuses),
        probe(deadline, latencies, failures),
    )
    latencies.sort()
    pct = lambda p: latencies[min(len(latencies) - 1, int(p * len(latencies)))] if latencies else None
    print(json.dumps({
        "healthz": {"count": len(latencies), "failures": len(failures), "p50_ms": pct(0.50),
                    "p99_ms": pct(0.99), "max_ms": latencies[-1] if latencies else None},
        "hostile_statuses": statuses,
        "slow_clients": counts,
    }))


asyncio.run(main())
