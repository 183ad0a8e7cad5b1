"""The funnel drawing of the `docs` target: geometry only (numbers), computed from the view.

`index.html.j2` in `templates/docs/` turns the `Drawing` into SVG: one trapezoid per stage, its
width by expected volume, and a capacity bar per team the plan can size.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .docs import HandoffView, StageView, TeamView, View


WIDTH, ROW, GAP, TOP = 960, 62, 34, 40
FUNNEL_X, FUNNEL_MAX, FUNNEL_MIN = 16, 520, 230
BAR_X, BAR_W, BAR_ROW = 170, 540, 44


@dataclass
class StageShape:
    stage: StageView
    points: str
    top: float
    mid: float
    right: float
    boundary: float | None = None
    handoff: HandoffView | None = None


@dataclass
class TeamBar:
    team: TeamView
    y: float
    capacity_w: float
    load_w: float
    over_w: float


@dataclass
class Drawing:
    width: int
    height: float
    centre: float
    shapes: list[StageShape]
    capacity_top: float
    bars: list[TeamBar]
    bar_x: int = BAR_X
    bar_w: int = BAR_W


def _widths(stages: list[StageView]) -> list[float]:
    """Top width per stage: the square root of the expected volume, so small stages stay legible."""
    volumes = [s.expected for s in stages]
    if not stages or any(v is None for v in volumes) or max(volumes) <= 0:
        step = (FUNNEL_MAX - FUNNEL_MIN) / max(len(stages) - 1, 1)
        return [FUNNEL_MAX - i * step for i in range(len(stages))]
    top = max(volumes)
    return [FUNNEL_MIN + (FUNNEL_MAX - FUNNEL_MIN) * (max(v, 0) / top) ** 0.5 for v in volumes]


def _shape(stage: StageView, y: float, top_w: float, bottom_w: float) -> StageShape:
    cx = FUNNEL_X + FUNNEL_MAX / 2
    pts = [(cx - top_w / 2, y), (cx + top_w / 2, y), (cx + bottom_w / 2, y + ROW),
           (cx - bottom_w / 2, y + ROW)]
    points = " ".join(f"{round(x, 1)},{round(py, 1)}" for x, py in pts)
    return StageShape(stage, points, y, y + ROW / 2, FUNNEL_X + FUNNEL_MAX + 40)


def draw_funnel(view: View) -> Drawing:
    """The funnel as trapezoids (width by expected volume) and a capacity bar per sales team."""
    widths = _widths(view.stages)
    shapes = []
    for i, stage in enumerate(view.stages):
        bottom = widths[i + 1] if i + 1 < len(widths) else widths[i] * 0.85
        shape = _shape(stage, TOP + i * (ROW + GAP), widths[i], bottom)
        if i + 1 < len(view.stages):
            shape.boundary = shape.top + ROW + GAP / 2
            shape.handoff = view.stages[i + 1].handoff_in
        shapes.append(shape)
    capacity_top = TOP + len(shapes) * (ROW + GAP) + 28
    bars = _bars(view.teams, capacity_top + 40)
    height = capacity_top + (40 + len(bars) * BAR_ROW + 16 if bars else 0)
    return Drawing(WIDTH, height, FUNNEL_X + FUNNEL_MAX / 2, shapes, capacity_top, bars)


def _bars(teams: list[TeamView], y: float) -> list[TeamBar]:
    shown = [t for t in teams if t.capacity is not None]
    if not shown:
        return []
    scale = BAR_W / max(max(t.capacity, t.load or 0, t.required_load or 0) for t in shown)
    bars = []
    for i, t in enumerate(shown):
        load = min(t.load or 0, t.capacity)
        over = max((t.load or 0) - t.capacity, 0)
        bars.append(TeamBar(t, y + i * BAR_ROW, round(t.capacity * scale, 1),
                            round(load * scale, 1), round(over * scale, 1)))
    return bars
