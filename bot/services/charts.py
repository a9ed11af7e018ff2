"""PNG charts for /stats, drawn with matplotlib's object API (no pyplot state) off the event loop.

Labels come translated from the caller: Kazakh Cyrillic is drawn with DejaVu Sans, Hangul falls
back to Noto Sans CJK (fonts-noto-cjk). A glyph missing from both makes matplotlib warn, and the
tests turn that warning into a failure. The plotted series are written into the PNG's text chunk
("ipdesk-series"), so a reader (and a test) can see what the picture shows.
"""

from __future__ import annotations

import asyncio
import io
import json
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass

FONTS = ["DejaVu Sans", "Noto Sans CJK KR", "Noto Sans CJK JP"]
SERIES_KEY = "ipdesk-series"
# rcParams are process-wide: one drawing at a time keeps rc_context from crossing threads.
_LOCK = threading.Lock()
COLOURS = ("#2f6db5", "#e07b39", "#3a9d5d", "#b5482f", "#7d5ba6")


@dataclass(frozen=True)
class Chart:
    title: str
    labels: Sequence[str]
    values: Sequence[float]
    horizontal: bool = False


def render(charts: Sequence[Chart], title: str) -> bytes:
    """All charts on one PNG, two per row (a phone shows one picture better than four)."""
    # Imported here: matplotlib costs start-up time that only /stats needs.
    from matplotlib import rc_context
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    columns = 1 if len(charts) == 1 else 2
    rows = max(1, math.ceil(len(charts) / columns))
    with _LOCK, rc_context({"font.family": FONTS, "font.size": 10, "axes.titlesize": 11}):
        figure = Figure(figsize=(6 * columns, 3.8 * rows), dpi=110, layout="constrained")
        FigureCanvasAgg(figure)
        figure.suptitle(title, fontsize=13, fontweight="bold")
        for index, chart in enumerate(charts):
            axes = figure.add_subplot(rows, columns, index + 1)
            _draw(axes, chart, COLOURS[index % len(COLOURS)])
        buffer = io.BytesIO()
        series = [
            {"title": c.title, "labels": list(c.labels), "values": list(c.values)} for c in charts
        ]
        figure.savefig(
            buffer,
            format="png",
            metadata={SERIES_KEY: json.dumps(series, ensure_ascii=False)},
        )
    return buffer.getvalue()


def _draw(axes: object, chart: Chart, colour: str) -> None:
    from matplotlib.axes import Axes

    assert isinstance(axes, Axes)
    axes.set_title(chart.title)
    positions = list(range(len(chart.labels)))
    if not positions:
        axes.set_axis_off()
        return
    if chart.horizontal:
        axes.barh(positions, chart.values, color=colour)
        axes.set_yticks(positions, [_short(label) for label in chart.labels])
        axes.invert_yaxis()
        axes.xaxis.get_major_locator().set_params(integer=True)
    else:
        axes.bar(positions, chart.values, color=colour)
        step = max(1, len(positions) // 10)  # at most ~10 tick labels under a month of days
        axes.set_xticks(positions[::step], [chart.labels[i] for i in positions[::step]])
        axes.tick_params(axis="x", labelrotation=45 if len(positions) > 7 else 0)
        axes.yaxis.get_major_locator().set_params(integer=True)
    axes.spines[["top", "right"]].set_visible(False)


def _short(label: str, limit: int = 28) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


async def render_async(charts: Sequence[Chart], title: str) -> bytes:
    """Drawing takes a few hundred milliseconds: do it in a thread, not on the event loop."""
    return await asyncio.to_thread(render, charts, title)


def read_series(png: bytes) -> list[dict[str, object]]:
    """The series a PNG written by render() carries (for tests and curious readers)."""
    from PIL import Image

    with Image.open(io.BytesIO(png)) as image:
        text = image.info.get(SERIES_KEY)
    return json.loads(text) if text else []
