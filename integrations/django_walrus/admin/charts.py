"""Server-rendered SVG bar charts for the walrus admin pages (no JavaScript, no CDN).

``bar_chart`` draws one horizontal bar per row, split into one segment per series (stacked),
with the row's label on the left and its total on the right. Text is escaped; the result is
safe to insert into a template.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from html import escape

from django.utils.safestring import SafeString, mark_safe

__all__ = ["PALETTE", "bar_chart", "human_bytes"]

PALETTE = ("#417690", "#e0a030", "#ba2121", "#70bf2b", "#8a5ac2")
"""Segment colours, in series order (readable on Django admin's light and dark themes)."""
_LABEL_W, _BAR_W, _VALUE_W, _ROW_H = 190, 360, 90, 22


def human_bytes(value: float) -> str:
    """``1536`` -> ``"1.5 KiB"``. No Redis work."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(value) < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"  # pragma: no cover - the loop returns


def bar_chart(
    title: str,
    rows: Sequence[tuple[str, Sequence[float]]],
    series: Sequence[str],
    value_text: Callable[[float], str] = lambda v: f"{v:,.0f}",
) -> SafeString:
    """An SVG chart: ``rows`` are ``(label, [value per series])``; ``series`` names the
    segments (a legend is drawn when there are several). No Redis work."""
    legend_h = _ROW_H if len(series) > 1 else 0
    height = 28 + legend_h + _ROW_H * max(len(rows), 1) + 6
    width = _LABEL_W + _BAR_W + _VALUE_W
    biggest = max((sum(values) for _, values in rows), default=0) or 1
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="walrus-chart" role="img" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        '<text x="0" y="18" font-size="14" font-weight="bold" fill="currentColor">'
        f"{escape(title)}</text>",
    ]
    if legend_h:
        legend_x = _LABEL_W
        for index, name in enumerate(series):
            colour = PALETTE[index % len(PALETTE)]
            parts.append(f'<rect x="{legend_x}" y="28" width="12" height="12" fill="{colour}"/>')
            parts.append(
                f'<text x="{legend_x + 16}" y="38" font-size="12" fill="currentColor">'
                f"{escape(name)}</text>"
            )
            legend_x += 24 + 7 * len(name)
    if not rows:
        parts.append(
            f'<text x="0" y="{28 + legend_h + 15}" font-size="12" fill="currentColor">'
            "Nothing yet.</text>"
        )
    for row, (label, values) in enumerate(rows):
        y = 28 + legend_h + row * _ROW_H
        short = label if len(label) <= 26 else label[:25] + "\u2026"
        parts.append(
            f'<text x="0" y="{y + 15}" font-size="12" fill="currentColor">'
            f"<title>{escape(label)}</title>{escape(short)}</text>"
        )
        x = float(_LABEL_W)
        for index, value in enumerate(values):
            w = _BAR_W * value / biggest
            if w > 0:
                colour = PALETTE[index % len(PALETTE)]
                parts.append(
                    f'<rect class="bar" x="{x:.1f}" y="{y + 3}" width="{max(w, 1):.1f}"'
                    f' height="{_ROW_H - 6}" fill="{colour}">'
                    f"<title>{escape(series[index])}: {escape(value_text(value))}</title></rect>"
                )
            x += w
        parts.append(
            f'<text x="{_LABEL_W + _BAR_W + 6}" y="{y + 15}" font-size="12" fill="currentColor">'
            f"{escape(value_text(sum(values)))}</text>"
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # every text above is escaped
