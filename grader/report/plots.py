"""Plots rendered on the server as inline SVG (matplotlib's SVG backend, no pyplot state, no JavaScript):
the class report opens offline and stays one file."""

from __future__ import annotations

import io
import re
from typing import TYPE_CHECKING, Any

from matplotlib import rc_context
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

if TYPE_CHECKING:
    from matplotlib.typing import RcKeyType

OK, BAD, MUTED = "#1a7f37", "#cf222e", "#57606a"
STYLE: dict[RcKeyType, Any] = {
    "svg.fonttype": "none",  # text stays text: small, searchable, crisp at any zoom
    "font.size": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
}


def to_svg(figure: Figure, salt: str) -> str:
    """The figure as an ``<svg>`` element; ``salt`` keeps element ids unique between plots of one page."""
    buffer = io.StringIO()
    with rc_context({**STYLE, "svg.hashsalt": salt}):
        figure.savefig(buffer, format="svg", bbox_inches="tight")
    text = buffer.getvalue()
    return _drop_unreferenced_ids(text[text.index("<svg") :])


def _drop_unreferenced_ids(svg: str) -> str:
    """matplotlib names every group (``figure_1``, ``patch_3``...) in each figure alike; in one HTML page those
    would be duplicate ids. Keep only the ids the figure refers to (its clip paths, hashed with the salt)."""
    referenced = set(re.findall(r"url\(#([^)]+)\)|href=\"#([^\"]+)\"", svg))
    keep = {name for pair in referenced for name in pair if name}
    return re.sub(r'\s+id="([^"]+)"', lambda m: m.group(0) if m.group(1) in keep else "", svg)


def score_histogram(scores: list[float], max_score: float, title: str, salt: str) -> str:
    """How many submissions got each score."""
    with rc_context(STYLE):
        figure = Figure(figsize=(5.2, 2.8))
        axes = figure.add_subplot()
        top = max_score or max(scores, default=1.0) or 1.0
        if float(top).is_integer() and top <= 40:  # one bar per whole point
            bins = [i - 0.5 for i in range(int(top) + 2)]
        else:  # ten bars, a tenth of the points each
            bins = [top * i / 10 for i in range(11)]
        axes.hist(scores, bins=bins, color=OK, edgecolor="white")
        axes.set_xlim(bins[0], bins[-1])
        axes.set_xlabel(f"score (of {top:g})")
        axes.set_ylabel("submissions")
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_title(title, loc="left", fontsize=11)
    return to_svg(figure, salt)


def pass_rate_bars(rates: list[tuple[str, float]], title: str, salt: str) -> str:
    """One bar per check, hardest first (at the top); red below half the class, green above."""
    labels = [_short(name) for name, _ in rates]
    values = [rate * 100 for _, rate in rates]
    with rc_context(STYLE):
        figure = Figure(figsize=(7.5, 0.32 * len(rates) + 0.9))
        axes = figure.add_subplot()
        positions = list(range(len(rates)))
        axes.barh(positions, values, color=[BAD if v < 50 else OK for v in values])
        axes.set_yticks(positions, labels)
        axes.invert_yaxis()
        axes.set_xlim(0, 100)
        axes.set_xlabel("% of graded submissions passing")
        axes.set_title(title, loc="left", fontsize=11)
        for position, value in zip(positions, values, strict=True):
            inside = value > 88  # no room right of a full bar: write the figure on it, in white
            x, colour, align = (value - 1, "white", "right") if inside else (value + 1, MUTED, "left")
            axes.text(x, position, f"{value:.0f}%", va="center", ha=align, fontsize=8, color=colour)
    return to_svg(figure, salt)


def _short(name: str, limit: int = 60) -> str:
    name = re.sub(r"\s+", " ", name).strip()
    return name if len(name) <= limit else name[: limit - 1] + "…"


def exercise_bars(shares: list[tuple[str, float]], title: str, salt: str) -> str:
    """The class's average share of each exercise's points: which exercise to revisit in class."""
    with rc_context(STYLE):
        figure = Figure(figsize=(5.2, 2.8))
        axes = figure.add_subplot()
        labels = [name or "?" for name, _ in shares]
        values = [share * 100 for _, share in shares]
        axes.bar(labels, values, color=[BAD if v < 50 else OK for v in values])
        axes.set_ylim(0, 112)  # room for the label over a full bar
        axes.set_yticks([0, 25, 50, 75, 100])
        axes.set_ylabel("% of the points, on average")
        axes.set_title(title, loc="left", fontsize=11)
        for position, value in enumerate(values):
            axes.text(position, value + 2, f"{value:.0f}%", ha="center", fontsize=8, color=MUTED)
    return to_svg(figure, salt)
