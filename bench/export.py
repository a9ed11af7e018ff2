"""Exports at scale: 100 000 tickets to CSV (zipped) and XLSX, streamed from the database.

    .venv/bin/python bench/export.py [--tickets 100000] [--database-url URL]

Prints a table, then one JSON object as the last line: per format `seconds`, `rows_per_s`,
`parts`, `bytes`; `peak_traced_mb` (Python allocations during the export, tracemalloc) and
`rss_growth_mb` (the process's resident size after minus before).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import secrets
import sys
import tempfile
import time
import tracemalloc
import uuid
from datetime import timedelta
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from sqlalchemy import insert  # noqa: E402

from bot.migrate import upgrade  # noqa: E402
from bot.services.exports import ExportFormat, write_export  # noqa: E402
from db.engine import create_engine, create_sessionmaker  # noqa: E402
from db.models import Ticket, utcnow  # noqa: E402
from db.repositories.reports import export_statement, stream_rows  # noqa: E402

KINDS = ("counterfeit", "online", "customs", "procedure", "other")
LANGS = ("kk", "ru", "ko", "en")


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        await asyncio.to_thread(upgrade, url)
        engine = create_engine(url)
        sessionmaker = create_sessionmaker(engine)
        start = time.perf_counter()
        now = utcnow()
        async with sessionmaker() as session:
            for first in range(0, args.tickets, 5000):
                await session.execute(
                    insert(Ticket),
                    [
                        {
                            "draft_id": str(uuid.uuid4()),
                            "language": LANGS[n % 4],
                            "kind": KINDS[n % 5],
                            "right": "trademark",
                            "location": f"https://shop{n}.example.kz/item/{n}",
                            "description": "Counterfeit goods: " + secrets.token_urlsafe(120),
                            "company": f"ACME Korea {n % 97}",
                            "contact": f"+82 10 {n:08d}",
                            "created_at": now - timedelta(minutes=n),
                        }
                        for n in range(first, min(first + 5000, args.tickets))
                    ],
                )
            await session.commit()
        seeded = time.perf_counter() - start

        results = {}
        rss_before = rss_mb()
        tracemalloc.start()
        for fmt in ExportFormat:
            columns, stmt = export_statement("tickets", None, None)
            out = Path(tmp) / fmt.value
            out.mkdir()
            t0 = time.perf_counter()
            result = await write_export(
                "tickets", columns, stream_rows(sessionmaker, stmt), fmt, out
            )
            seconds = time.perf_counter() - t0
            results[fmt.value] = {
                "seconds": round(seconds, 2),
                "rows": result.rows,
                "rows_per_s": round(result.rows / seconds),
                "parts": len(result.parts),
                "bytes": sum(p.stat().st_size for p in result.parts),
            }
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        rss_growth = rss_mb() - rss_before
        await engine.dispose()

    print(f"seeded {args.tickets} tickets in {seeded:.1f} s")
    print(f"{'format':<6} {'rows':>8} {'seconds':>8} {'rows/s':>8} {'parts':>6} {'MB':>7}")
    for name, r in results.items():
        print(
            f"{name:<6} {r['rows']:>8} {r['seconds']:>8} {r['rows_per_s']:>8} {r['parts']:>6}"
            f" {r['bytes'] / 1e6:>7.1f}"
        )
    print(f"peak traced {peak / 1e6:.1f} MB, RSS growth {rss_growth:.1f} MB")
    print(
        json.dumps(
            {
                "tickets": args.tickets,
                **results,
                "peak_traced_mb": round(peak / 1e6, 1),
                "rss_growth_mb": round(rss_growth, 1),
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
