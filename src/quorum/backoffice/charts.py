"""A server-rendered SVG line chart: no script, no external library, readable as a table too."""

from __future__ import annotations

from datetime import date

WIDTH, HEIGHT, PAD = 600, 200, 30


def growth_points(series: list[tuple[date, int]]) -> str:
    """SVG polyline points for (day, count) pairs, scaled into the chart's box."""
    if not series:
        return ""
    first, last = series[0][0], series[-1][0]
    span_days = max((last - first).days, 1)
    top = max(count for _, count in series) or 1
    points = []
    for day, count in series:
        x = PAD + (WIDTH - 2 * PAD) * (day - first).days / span_days
        y = HEIGHT - PAD - (HEIGHT - 2 * PAD) * count / top
        points.append(f"{x:.1f},{y:.1f}")
    if len(points) == 1:
        points.append(f"{WIDTH - PAD:.1f},{points[0].split(',')[1]}")
    return " ".join(points)
