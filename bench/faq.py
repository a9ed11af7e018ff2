"""FAQ matcher benchmark on the dev set: `.venv/bin/python bench/faq.py`.

Prints a table, then as its last line one JSON object:
{"top1": {lang: share}, "top3": {...}, "answered": {...}, "wrong": {...},
 "reject": {"ood": share, "near": share, "by_lang": {lang: {"ood": .., "near": ..}}},
 "lang_detect": {lang: share}, "p50_ms": .., "p99_ms": .., "build_ms": .., "rss_mb": ..,
 "cli_startup_ms": .., "cli_rss_mb": ..}

- top1 / top3: the expected entry is first / among the 3 in `top` (in-domain questions);
- answered: confident and right (`id` is the expected entry); wrong: confident and wrong;
- reject: out-of-domain and near-domain questions left without an id (`id` null);
- lang_detect: detected language = the language the question is written in (no hint given);
- p50/p99: one `match` call; build_ms: `FaqMatcher.build` (the index, detector already
  loaded); rss_mb: this process after loading content, detector and index;
- p99_cpu_ms / build_cpu_ms: the same in CPU time of this process (`time.process_time`),
  which a busy machine does not inflate: on a shared machine the wall-clock figures measure
  the other processes as much as the matcher;
- cli_startup_ms / cli_rss_mb: `python -m bot faq match` from launch to its first answer line
  (best of 3) and its peak memory.
Targets (issue 6): top1 >= 0.95 and top3 >= 0.99 per language, reject >= 0.9, lang_detect
>= 0.98, p99 < 5 ms, build < 1 s.
"""

from __future__ import annotations

import gc
import json
import resource
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot.faq.cli import faq_directory  # noqa: E402
from bot.faq.content import LANGUAGES, load_faq  # noqa: E402
from bot.faq.langdetect import LanguageDetector  # noqa: E402
from bot.faq.match import FaqMatcher, MatchResult  # noqa: E402

DEV_SET = REPO / "tests" / "data" / "faq_dev.jsonl"
PASSES = 3  # latency samples per question


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def share(hits: int, total: int) -> float:
    return round(hits / total, 4) if total else 0.0


def cli_startup() -> tuple[float, float]:
    """`python -m bot faq match`: best time (ms) from launch to the first answer line, and the
    process's peak RSS (MB, VmHWM read while it waits for more input)."""
    times, peaks = [], []
    for _ in range(3):
        start = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "faq", "match"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=REPO,
        )
        assert process.stdin is not None and process.stdout is not None
        process.stdin.write('{"text": "hi"}\n')
        process.stdin.flush()
        process.stdout.readline()
        times.append((time.perf_counter() - start) * 1000)
        status = Path(f"/proc/{process.pid}/status")
        if status.exists():
            for line in status.read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peaks.append(int(line.split()[1]) / 1024)
        process.stdin.close()
        process.wait(timeout=30)
    return round(min(times), 1), round(max(peaks, default=0.0), 1)


def evaluate(matcher: FaqMatcher, rows: list[dict[str, Any]]) -> dict[str, Any]:
    counts: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    detected: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    latencies: list[float] = []
    cpu: list[float] = []
    for row in rows:
        result: MatchResult | None = None
        for _ in range(PASSES):
            start, start_cpu = time.perf_counter(), time.process_time()
            result = matcher.match(row["text"])
            latencies.append((time.perf_counter() - start) * 1000)
            cpu.append((time.process_time() - start_cpu) * 1000)
        assert result is not None
        lang, kind = row["lang"], row["kind"]
        tally = counts[(lang, kind)]
        tally["n"] += 1
        detected[lang][0] += result.lang == lang
        detected[lang][1] += 1
        if kind == "in":
            tally["top1"] += result.top[0] == row["expected"]
            tally["top3"] += row["expected"] in result.top
            tally["answered"] += result.id == row["expected"]
            tally["wrong"] += result.id is not None and result.id != row["expected"]
        else:
            tally["rejected"] += result.id is None
    latencies.sort()
    cpu.sort()
    return {"counts": counts, "detected": detected, "latencies": latencies, "cpu": cpu}


def summary(
    evaluation: dict[str, Any], build_ms: float, build_cpu_ms: float, rss: float
) -> dict[str, Any]:
    counts, detected = evaluation["counts"], evaluation["detected"]
    latencies, cpu = evaluation["latencies"], evaluation["cpu"]

    def per_lang(kind: str, key: str) -> dict[str, float]:
        return {
            lang: share(counts[(lang, kind)][key], counts[(lang, kind)]["n"]) for lang in LANGUAGES
        }

    def overall(kind: str) -> float:
        hits = sum(counts[(lang, kind)]["rejected"] for lang in LANGUAGES)
        return share(hits, sum(counts[(lang, kind)]["n"] for lang in LANGUAGES))

    return {
        "top1": per_lang("in", "top1"),
        "top3": per_lang("in", "top3"),
        "answered": per_lang("in", "answered"),
        "wrong": per_lang("in", "wrong"),
        "reject": {
            "ood": overall("ood"),
            "near": overall("near"),
            "by_lang": {
                lang: {
                    kind: share(counts[(lang, kind)]["rejected"], counts[(lang, kind)]["n"])
                    for kind in ("ood", "near")
                }
                for lang in LANGUAGES
            },
        },
        "lang_detect": {lang: share(*detected[lang]) for lang in LANGUAGES},
        "p50_ms": round(statistics.median(latencies), 3),
        "p99_ms": round(latencies[int(0.99 * (len(latencies) - 1))], 3),
        "p99_cpu_ms": round(cpu[int(0.99 * (len(cpu) - 1))], 3),
        "build_ms": round(build_ms, 1),
        "build_cpu_ms": round(build_cpu_ms, 1),
        "rss_mb": round(rss, 1),
        "questions": {
            kind: sum(counts[(lang, kind)]["n"] for lang in LANGUAGES)
            for kind in ("in", "ood", "near")
        },
    }


def table(result: dict[str, Any]) -> str:
    head = f"{'':<22}" + "".join(f"{lang:>8}" for lang in LANGUAGES)
    rows = [head, "-" * len(head)]
    for key, label in (
        ("top1", "top-1"),
        ("top3", "top-3"),
        ("answered", "answered (right id)"),
        ("wrong", "answered wrong"),
        ("lang_detect", "language detected"),
    ):
        rows.append(f"{label:<22}" + "".join(f"{result[key][lang]:>8.3f}" for lang in LANGUAGES))
    for kind in ("ood", "near"):
        by_lang = result["reject"]["by_lang"]
        rows.append(
            f"{'rejected ' + kind:<22}"
            + "".join(f"{by_lang[lang][kind]:>8.3f}" for lang in LANGUAGES)
            + f"   all {result['reject'][kind]:.3f}"
        )
    rows.append("-" * len(head))
    rows.append(
        f"latency p50 {result['p50_ms']:.2f} ms, p99 {result['p99_ms']:.2f} ms "
        f"(CPU p99 {result['p99_cpu_ms']:.2f} ms); index build {result['build_ms']:.0f} ms "
        f"(CPU {result['build_cpu_ms']:.0f} ms); RSS {result['rss_mb']:.0f} MB; "
        f"CLI start-up {result['cli_startup_ms']:.0f} ms, {result['cli_rss_mb']:.0f} MB; "
        f"questions {result['questions']}"
    )
    return "\n".join(rows)


def main() -> int:
    rows = [json.loads(line) for line in DEV_SET.read_text(encoding="utf-8").splitlines() if line]
    base = load_faq(faq_directory())
    detector = LanguageDetector.create()
    builds, build_cpu = [], []
    for _ in range(3):
        start, start_cpu = time.perf_counter(), time.process_time()
        matcher = FaqMatcher.build(base, detector=detector)
        builds.append((time.perf_counter() - start) * 1000)
        build_cpu.append((time.process_time() - start_cpu) * 1000)
    gc.collect()  # the earlier builds' garbage is not the matcher's memory
    result = summary(evaluate(matcher, rows), min(builds), min(build_cpu), rss_mb())
    result["cli_startup_ms"], result["cli_rss_mb"] = cli_startup()
    print(table(result))
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
