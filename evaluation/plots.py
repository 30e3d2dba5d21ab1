"""Inline SVG plots for report.html: a line plot, a bar plot and a plot against the baseline, drawn here so the report is one
self-contained file with no plotting library."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass


def figure(caption: str, svg: str) -> str:
    """An SVG with its caption."""
    return f"<figure>{svg}<figcaption>{html.escape(caption)}</figcaption></figure>"


def line_plot(points: Sequence[tuple[float, float]], xlabel: str, ylabel: str) -> str:
    """Points joined by a line, y from 0 to 1."""
    w, h, pad = 320, 220, 36
    xs = [p[0] for p in points] or [0.0, 1.0]
    x0, x1 = min(xs), max(xs) if max(xs) > min(xs) else min(xs) + 1

    def sx(x: float) -> float:
        return pad + (x - x0) / (x1 - x0) * (w - 2 * pad)

    def sy(y: float) -> float:
        return h - pad - y * (h - 2 * pad)

    path = " ".join(f"{'M' if i == 0 else 'L'}{sx(x):.1f},{sy(y):.1f}" for i, (x, y) in enumerate(points))
    dots = "".join(f"<circle cx='{sx(x):.1f}' cy='{sy(y):.1f}' r='3' fill='#0b5cad'/>" for x, y in points)
    ticks = "".join(
        f"<text x='{pad - 6}' y='{sy(t) + 4:.1f}' font-size='10' text-anchor='end'>{t:.1f}</text>"
        for t in (0, 0.5, 1.0)
    )
    return (
        f"<svg width='{w}' height='{h}' xmlns='http://www.w3.org/2000/svg'>"
        f"<line x1='{pad}' y1='{h - pad}' x2='{w - pad}' y2='{h - pad}' stroke='#889'/>"
        f"<line x1='{pad}' y1='{pad}' x2='{pad}' y2='{h - pad}' stroke='#889'/>{ticks}"
        f"<path d='{path}' fill='none' stroke='#0b5cad' stroke-width='2'/>{dots}"
        f"<text x='{w / 2}' y='{h - 6}' font-size='11' text-anchor='middle'>{xlabel}</text>"
        f"<text x='10' y='{pad - 10}' font-size='11'>{ylabel}</text></svg>"
    )


def bar_plot(bars: Sequence[tuple[str, int]]) -> str:
    """Labelled bars of counts."""
    w, h, pad = 320, 220, 30
    top = max((v for _, v in bars), default=1) or 1
    width = (w - 2 * pad) / max(1, len(bars))
    parts = []
    for i, (label, value) in enumerate(bars):
        bh = value / top * (h - 2 * pad)
        x = pad + i * width
        parts.append(
            f"<rect x='{x + 2:.1f}' y='{h - pad - bh:.1f}' width='{width - 4:.1f}' height='{bh:.1f}' fill='#0b5cad'/>"
            f"<text x='{x + width / 2:.1f}' y='{h - pad + 14}' font-size='10' text-anchor='middle'>{html.escape(label)}</text>"
            f"<text x='{x + width / 2:.1f}' y='{h - pad - bh - 3:.1f}' font-size='10' text-anchor='middle'>{value}</text>"
        )
    return f"<svg width='{w}' height='{h}' xmlns='http://www.w3.org/2000/svg'>{''.join(parts)}</svg>"


@dataclass(frozen=True)
class BaselineBar:
    """One metric of a run against the baseline: a bar now, a mark at the baseline, the 95% CI."""

    metric: str
    current: float
    baseline: float
    ci: tuple[float, float] | None
    regressed: bool


def baseline_plot(bars: Sequence[BaselineBar]) -> str:
    """Metrics as bars (red when regressed) with the baseline marked on each."""
    w, row, pad = 460, 18, 150
    h = row * len(bars) + 20
    parts = []
    for i, c in enumerate(bars):
        y = 10 + i * row
        scale = w - pad - 20
        ci = c.ci
        color = "#c0392b" if c.regressed else "#0b5cad"
        parts.append(
            f"<text x='{pad - 6}' y='{y + 11}' font-size='10' text-anchor='end'>{html.escape(c.metric)}</text>"
        )
        parts.append(
            f"<rect x='{pad}' y='{y + 2}' width='{c.current * scale:.1f}' height='10' fill='{color}' opacity='.7'/>"
        )
        parts.append(
            f"<line x1='{pad + c.baseline * scale:.1f}' y1='{y}' x2='{pad + c.baseline * scale:.1f}' "
            f"y2='{y + 14}' stroke='#222' stroke-width='2'/>"
        )
        if ci is not None:
            parts.append(
                f"<line x1='{pad + ci[0] * scale:.1f}' y1='{y + 7}' x2='{pad + ci[1] * scale:.1f}' y2='{y + 7}' stroke='#222'/>"
            )
    return f"<svg width='{w}' height='{h}' xmlns='http://www.w3.org/2000/svg'>{''.join(parts)}</svg>"
