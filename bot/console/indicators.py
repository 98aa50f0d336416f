"""The supervisor's O1.1.3 page: each family's monthly figure against its target, and the CSV.

Figures come from `services.indicators.report`, already suppressed; the charts are inline SVG
built here (no script, no chart library), so the console's strict CSP holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from bot.clock import utcnow
from bot.console import audit
from bot.console.auth import SUPERVISOR, require_role
from bot.console.web import HEADERS, render
from bot.db.models import Staff
from bot.db.session import Database
from bot.services import indicators

router = APIRouter(prefix="/console/indicators")
Supervisor = Annotated[Staff, Depends(require_role(*SUPERVISOR))]
First = Annotated[str, Query(alias="from")]
Last = Annotated[str, Query(alias="to")]
WIDTH, HEIGHT, BOTTOM = 720, 200, 24  # SVG units; BOTTOM leaves room for month labels


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    month: str
    value: int
    target: int | None
    target_y: float | None


@dataclass(frozen=True)
class Chart:
    family: str
    measure: str  # what a bar shows
    bars: tuple[Bar, ...]
    top: int  # the value at the top of the chart


def chart(doc: dict[str, Any], family: str) -> Chart:
    """Bars per month (year-to-date for a yearly target) and the target as a line over each."""
    points = []
    per = None
    for entry in doc["months"]:
        month = entry["month"]
        progress = doc["progress"][month][family]
        per = progress.get("per", per)
        value = progress.get("achieved", entry["families"][family]["unique_users"])
        points.append((month, int(value), progress.get("target")))
    top = max([1, *(v for _, v, _ in points), *(t for _, _, t in points if t)])
    step = WIDTH / max(len(points), 1)
    plot = HEIGHT - BOTTOM

    def y_of(value: int) -> float:
        return round(plot - value / top * plot, 1)

    bars = tuple(
        Bar(
            x=round(i * step + step * 0.15, 1),
            y=y_of(value),
            width=round(step * 0.7, 1),
            height=round(value / top * plot, 1),
            month=month,
            value=value,
            target=target,
            target_y=y_of(target) if target else None,
        )
        for i, (month, value, target) in enumerate(points)
    )
    measure = "unique users this reporting year, so far" if per == "year" else "unique users"
    return Chart(family, measure, bars, top)


def _period(first: str, last: str) -> tuple[str, str]:
    """The months asked for, or the twelve months up to this one."""
    if first and last:
        return first, last
    this = utcnow()
    year, month = (this.year - 1, this.month + 1) if this.month < 12 else (this.year, 1)
    return f"{year:04d}-{month:02d}", f"{this:%Y-%m}"


def _report(request: Request, first: str, last: str) -> dict[str, Any]:
    db: Database = request.app.state.db
    with db.session() as session:  # commits a rebuild of stale counters
        return indicators.report(session, first, last, request.app.state.settings)


@router.get("")
def page(request: Request, staff: Supervisor, first: First = "", last: Last = "") -> HTMLResponse:
    first, last = _period(first, last)
    error = None
    try:
        doc = _report(request, first, last)
    except ValueError as exc:
        error = str(exc)
        first, last = _period("", "")
        doc = _report(request, first, last)
    charts = [chart(doc, family) for family in doc["months"][0]["families"]]
    return render(
        request,
        "indicators.html",
        staff,
        doc=doc,
        charts=charts,
        first=first,
        last=last,
        error=error,
        width=WIDTH,
        height=HEIGHT,
    )


@router.get("/csv")
def download(request: Request, staff: Supervisor, first: First = "", last: Last = "") -> Response:
    first, last = _period(first, last)
    try:
        doc = _report(request, first, last)
    except ValueError as exc:
        return Response(str(exc), status_code=400, media_type="text/plain")
    audit.record_request(request.app.state.db, "export", staff.id, request)
    headers = {
        **HEADERS,
        "Content-Disposition": f'attachment; filename="o1-1-3_{first}_{last}.csv"',
    }
    return Response(indicators.to_csv(doc), media_type="text/csv", headers=headers)
