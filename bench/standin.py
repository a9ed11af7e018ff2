"""The Bot API stand-in's own throughput, so later benchmarks know it is not their bottleneck.

The stand-in runs in a child process pinned to one CPU core; this process is the client
(aiohttp, keep-alive, N concurrent senders), on another core when there is one. Loopback only.

    .venv/bin/python bench/standin.py [--senders 32] [--count 20000] [--updates 20000]

Measures:
* sendMessage requests/s served (JSON bodies, spec checks on, no rate limits), with latency
  percentiles and how busy the server's core was;
* getUpdates delivery: updates/s a poller receives (limit=100, confirming by offset) from a
  queue filled beforehand.

Prints a table, then one JSON object as the last line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SCRIPT = Path(__file__).resolve()
REPO_ROOT = SCRIPT.parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import aiohttp  # noqa: E402

USERS = 200


# -- the server side (child process) ------------------------------------------------------------


async def serve() -> None:
    """Run the stand-in; answer commands on stdin: `prefill N`, `cpu`, `quit`."""
    from sandbox.server import StandIn

    stand = StandIn()
    await stand.start(host="127.0.0.1", port=0)
    account = stand.create_bot("bench_bot")
    users = [stand.create_user(f"User {i}") for i in range(USERS)]
    for user in users:
        await user.send("/start")
    account.updates.clear()
    _reply({"base_url": stand.base_url, "token": account.token, "users": [u.id for u in users]})
    while True:
        line = (await asyncio.to_thread(sys.stdin.readline)).split()
        if not line or line[0] == "quit":
            break
        if line[0] == "prefill":
            for i in range(int(line[1])):
                await users[i % USERS].send(f"update {i}")
            _reply({"pending": len(account.updates.pending)})
        elif line[0] == "cpu":
            _reply({"cpu": time.process_time(), "requests": len(stand.requests)})
    await stand.stop()


def _reply(data: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(data) + "\n")
    sys.stdout.flush()


# -- the client side ----------------------------------------------------------------------------


@dataclass
class Server:
    process: asyncio.subprocess.Process
    base_url: str = ""
    token: str = ""
    users: list[int] = field(default_factory=list)

    async def ask(self, command: str) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(command.encode() + b"\n")
        await self.process.stdin.drain()
        return json.loads(await self.process.stdout.readline())

    def url(self, method: str) -> str:
        return f"{self.base_url}/bot{self.token}/{method}"


def _cores() -> tuple[int | None, int | None]:
    """(server core, client core): the server gets one core to itself when there are two."""
    if not hasattr(os, "sched_getaffinity"):
        return None, None
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) == 1:
        return cores[0], cores[0]
    return cores[-1], cores[0]


async def start_server(core: int | None) -> Server:
    pin = [] if core is None else ["--core", str(core)]
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(SCRIPT),
        "--serve",
        *pin,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        cwd=REPO_ROOT,
    )
    assert process.stdout is not None
    hello = json.loads(await asyncio.wait_for(process.stdout.readline(), 60))
    return Server(process, hello["base_url"], hello["token"], hello["users"])


@dataclass
class SendResult:
    sent: int
    errors: int
    seconds: float
    latencies: list[float]
    server_cpu: float


async def bench_send(
    server: Server, http: aiohttp.ClientSession, senders: int, count: int, seconds: float
) -> SendResult:
    latencies: list[float] = []
    errors = 0
    next_index = 0

    async def sender() -> None:
        nonlocal errors, next_index
        while next_index < count and time.perf_counter() < deadline:
            i = next_index
            next_index += 1
            body = {"chat_id": server.users[i % len(server.users)], "text": f"bench {i}"}
            started = time.perf_counter()
            async with http.post(server.url("sendMessage"), json=body) as response:
                await response.read()
                if response.status != 200:
                    errors += 1
            latencies.append(time.perf_counter() - started)

    await _warm_up(server, http)
    cpu_before = (await server.ask("cpu"))["cpu"]
    started = time.perf_counter()
    deadline = started + seconds
    await asyncio.gather(*(sender() for _ in range(senders)))
    elapsed = time.perf_counter() - started
    cpu_after = (await server.ask("cpu"))["cpu"]
    return SendResult(
        len(latencies), errors, elapsed, latencies, (cpu_after - cpu_before) / elapsed
    )


async def _warm_up(server: Server, http: aiohttp.ClientSession) -> None:
    for _ in range(50):
        async with http.post(server.url("getMe")) as response:
            await response.read()


async def bench_updates(server: Server, http: aiohttp.ClientSession, updates: int) -> float:
    """Updates per second a poller receives from a queue of `updates` waiting updates."""
    prefilled = (await server.ask(f"prefill {updates}"))["pending"]
    received = 0
    offset = None
    started = time.perf_counter()
    while received < prefilled:
        body: dict[str, Any] = {"limit": 100, "timeout": 0}
        if offset is not None:
            body["offset"] = offset
        async with http.post(server.url("getUpdates"), json=body) as response:
            batch = (await response.json())["result"]
        received += len(batch)
        if batch:
            offset = batch[-1]["update_id"] + 1
    elapsed = time.perf_counter() - started
    return received / elapsed


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def run(args: argparse.Namespace) -> dict[str, Any]:
    server_core, client_core = _cores()
    server = await start_server(server_core)
    if client_core is not None and server_core != client_core:
        os.sched_setaffinity(0, {client_core})
    try:
        connector = aiohttp.TCPConnector(limit=args.senders, force_close=False)
        async with aiohttp.ClientSession(connector=connector) as http:
            send = await bench_send(server, http, args.senders, args.count, args.seconds)
            updates_per_s = await bench_updates(server, http, args.updates)
    finally:
        assert server.process.stdin is not None
        server.process.stdin.write(b"quit\n")
        await server.process.stdin.drain()
        await asyncio.wait_for(server.process.wait(), 10)
    latencies_ms = [latency * 1000 for latency in send.latencies]
    return {
        "send_rps": round(send.sent / send.seconds, 1),
        "p50_ms": round(statistics.median(latencies_ms), 2),
        "p99_ms": round(percentile(latencies_ms, 0.99), 2),
        "updates_per_s": round(updates_per_s, 1),
        "server_cpu": round(send.server_cpu, 2),
        "senders": args.senders,
        "sent": send.sent,
        "errors": send.errors,
        "updates": args.updates,
        "server_core": server_core,
        "client_core": client_core,
    }


def table(result: dict[str, Any]) -> str:
    rows = [
        ("sendMessage served", f"{result['send_rps']:.0f} req/s"),
        ("  latency p50", f"{result['p50_ms']:.2f} ms"),
        ("  latency p99", f"{result['p99_ms']:.2f} ms"),
        ("  server core busy", f"{result['server_cpu']:.0%}"),
        ("  requests / errors", f"{result['sent']} / {result['errors']}"),
        ("  concurrent senders", str(result["senders"])),
        ("getUpdates delivery", f"{result['updates_per_s']:.0f} updates/s"),
        ("cores (server, client)", f"{result['server_core']}, {result['client_core']}"),
    ]
    width = max(len(name) for name, _ in rows)
    lines = ["Bot API stand-in throughput (one core, loopback)", ""]
    lines += [f"{name:<{width}}  {value}" for name, value in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--senders", type=int, default=32)
    parser.add_argument("--count", type=int, default=20000, help="sendMessage calls at most")
    parser.add_argument("--seconds", type=float, default=20.0, help="sending time at most")
    parser.add_argument("--updates", type=int, default=20000)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--core", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        if args.core is not None:
            os.sched_setaffinity(0, {args.core})
        asyncio.run(serve())
        return
    result = asyncio.run(run(args))
    print(table(result))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
