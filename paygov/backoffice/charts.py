"""Server-rendered chart geometry: templates draw SVG from these numbers, no JavaScript."""

from __future__ import annotations

from dataclasses import dataclass

WIDTH, HEIGHT, PAD_LEFT, PAD_BOTTOM, PAD_TOP = 480, 220, 56, 28, 12
# Above this many bars only every other one is labelled (the last always): labels of
# 14 days side by side would overlap on a phone.
MAX_LABELS = 8


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    title: str


@dataclass(frozen=True)
class Columns:
    width: int
    height: int
    bars: list[Bar]
    ticks: list[tuple[float, str]]  # (y, label) of the value axis
    baseline: float


def nice_top(value: int) -> int:
    """A round axis maximum at or above `value`: 1, 2 or 5 times a power of ten."""
    if value <= 0:
        return 1
    scale = 1
    while True:
        for step in (1, 2, 5):
            if step * scale >= value:
                return step * scale
        scale *= 10


def short(value: int) -> str:
    """1 500 000 → 1,5 tr; 2 000 000 000 → 2 tỷ (the way finance staff read them)."""
    if value >= 1_000_000_000:
        return f"{value / 1_000_000_000:g} tỷ".replace(".", ",")
    if value >= 1_000_000:
        return f"{value / 1_000_000:g} tr".replace(".", ",")
    if value >= 1_000:
        return f"{value / 1_000:g}k".replace(".", ",")
    return str(value)


def columns(points: list[tuple[str, int]], unit: str = "") -> Columns:
    """Vertical bars, one per (label, value), on a 0..nice-top axis with 4 gridlines."""
    top = nice_top(max((value for _, value in points), default=0))
    inner_w = WIDTH - PAD_LEFT - 8
    inner_h = HEIGHT - PAD_BOTTOM - PAD_TOP
    slot = inner_w / max(len(points), 1)
    baseline = PAD_TOP + inner_h
    bars = []
    for index, (label, value) in enumerate(points):
        height = inner_h * value / top
        bars.append(
            Bar(
                x=round(PAD_LEFT + index * slot + slot * 0.15, 1),
                y=round(baseline - height, 1),
                width=round(slot * 0.7, 1),
                height=round(height, 1),
                label=label if _labelled(index, len(points)) else "",
                title=f"{label}: {value:,}{unit}".replace(",", "."),
            )
        )
    ticks = [(round(baseline - inner_h * i / 4, 1), short(top * i // 4)) for i in range(5)]
    return Columns(WIDTH, HEIGHT, bars, ticks, baseline)


def _labelled(index: int, count: int) -> bool:
    return count <= MAX_LABELS or (count - 1 - index) % 2 == 0


@dataclass(frozen=True)
class Rate:
    label: str
    percent: float
    total: int
    succeeded: int

    @property
    def tone(self) -> str:
        return "good" if self.percent >= 90 else "fair" if self.percent >= 70 else "poor"


def rates(rows: list[tuple[str, int, int]]) -> list[Rate]:
    return [
        Rate(label, round(100 * ok / total, 1) if total else 0.0, total, ok)
        for label, total, ok in rows
    ]
