"""Idle penalty: the CPU time of the same work done back to back and after idle gaps.

`bench/throughput.py` measures ipdesk at 70 % of its burst peak, and there an update costs
about half as much CPU again as in the burst. This shows why, with no bot and no network: one
FAQ match (pure CPU, ~0.3 ms) is timed with the process's CPU clock, first back to back, then
with the process sleeping 1, 3 and 10 ms between matches. On the 2-core VMs this project runs
on, a match after a 10 ms sleep cost three times its back-to-back CPU (0.29 -> 1.0 ms): the
caches (or the clock) go cold while the process waits. Work that arrives at a steady rate with
gaps between updates pays it; a burst does not.

    .venv/bin/python bench/idle_penalty.py [--matches 400]

Prints a table, then one JSON object as the last line: CPU ms per match for each gap.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

DEV_SET = REPO_ROOT / "tests" / "data" / "faq_dev.jsonl"
GAPS_MS = (0, 1, 3, 10)


def main() -> None:
    from bot.app import load_faq_index
    from bot.config import load_settings

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--matches", type=int, default=400, help="matches timed per gap")
    args = parser.parse_args()
    questions = [json.loads(line)["text"] for line in DEV_SET.read_text().splitlines() if line]
    _base, matcher = load_faq_index(load_settings(env_file=None))
    for question in questions[:200]:  # warm
        matcher.match(question, "en")
    results: dict[str, float] = {}
    for gap_ms in GAPS_MS:
        spent = 0.0
        for i in range(args.matches):
            if gap_ms:
                time.sleep(gap_ms / 1000)
            started = time.process_time()
            matcher.match(questions[i % len(questions)], "en")
            spent += time.process_time() - started
        per_match = round(1000 * spent / args.matches, 3)
        results[f"gap_{gap_ms}ms"] = per_match
        print(f"gap {gap_ms:>3} ms between matches: {per_match:.3f} ms CPU a match")
    results["penalty_at_10ms"] = round(results["gap_10ms"] / results["gap_0ms"], 2)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
