"""Bar charts as plain geometry for server-rendered SVG (templates/reports.html):
no script, no chart library, nothing for the browser to run."""

from __future__ import annotations

from dataclasses import dataclass

WIDTH, BAR_HEIGHT, GAP, LABEL_WIDTH = 420, 14, 10, 130


@dataclass(frozen=True)
class Bar:
    y: float
    width: float
    value: str
    css: str


@dataclass(frozen=True)
class Row:
    label: str
    y: float
    bars: list[Bar]


@dataclass(frozen=True)
class Chart:
    rows: list[Row]
    height: float
    width: int = WIDTH
    label_width: int = LABEL_WIDTH


def bar_chart(
    series: list[tuple[str, list[float | None]]], *, maximum: float | None = None
) -> Chart:
    """`[(label, [value per bar])]` as horizontal grouped bars scaled to the largest
    value (or `maximum`, e.g. 100 for percentages); None draws no bar."""
    values = [v for _, vs in series for v in vs if v is not None]
    top = maximum or max(values, default=0) or 1
    span = WIDTH - LABEL_WIDTH - 40
    rows, y = [], 0.0
    classes = ("bar-a", "bar-b", "bar-c")
    for label, vs in series:
        bars = []
        for index, value in enumerate(vs):
            if value is not None:
                shown = f"{value:g}" if maximum is None else f"{value:.0f}%"
                bars.append(
                    Bar(
                        y + index * BAR_HEIGHT,
                        max(1.0, span * value / top),
                        shown,
                        classes[index % 3],
                    )
                )
        rows.append(Row(label, y, bars))
        y += BAR_HEIGHT * max(1, len(vs)) + GAP
    return Chart(rows=rows, height=max(y, BAR_HEIGHT + GAP))
