"""CSV imports for the registries: validate every row first, then apply all or nothing.

Parsing is pure (text in, rows or a full error report out) so the CLI, the seed loader and
tests share it; applying replaces the rows of the same source in the caller's transaction.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

import regex
from sqlalchemy import delete, or_
from sqlalchemy.orm import Session

from bot.db.models import Agency, Hotline
from bot.services.hotlines import IN_PERSON, PURPOSES, UNVERIFIED
from bot.services.registries import STATUSES, licence_key

AGENCY_COLUMNS = (
    "licence_number", "name", "aliases", "status", "valid_until", "authority", "address", "phone",
)  # fmt: skip
HOTLINE_COLUMNS = (
    "country", "purpose", "number", "organization", "hours", "languages", "source", "verified",
)  # fmt: skip
CONFIDENCES = ("H", "M-H", "M", "L-M", "L")
LISTINGS = ("public", UNVERIFIED)
_COUNTRY = regex.compile(r"^[A-Z]{2}$")


@dataclass(frozen=True)
class RowError:
    line: int
    column: str
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}, column {self.column}: {self.reason}"


class ImportFailed(ValueError):
    """The file has bad rows; nothing was changed."""

    def __init__(self, errors: list[RowError]) -> None:
        super().__init__("\n".join(map(str, errors)))
        self.errors = errors


def parse_date(value: str) -> date:
    """YYYY-MM-DD only: a list date is evidence, so no guessing at formats."""
    if regex.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError(f"{value!r} is not a date as YYYY-MM-DD")


def parse_agencies(
    text: str, *, country: str, source: str, retrieved: date, is_sample: bool = False
) -> list[dict[str, Any]]:
    """Rows ready for `Agency(**row)`, or `ImportFailed` listing every bad cell."""
    if not _COUNTRY.match(country):
        raise ImportFailed([RowError(0, "--country", "expected a two-letter ISO country code")])
    seen: dict[str, int] = {}

    def row(line: int, cells: dict[str, str], errors: list[RowError]) -> dict[str, Any] | None:
        key = licence_key(cells["licence_number"])
        if not key:
            errors.append(RowError(line, "licence_number", "no licence number found"))
        elif key in seen:
            errors.append(RowError(line, "licence_number", f"same licence as line {seen[key]}"))
        else:
            seen[key] = line
        if not cells["name"]:
            errors.append(RowError(line, "name", "empty"))
        status = cells["status"].lower()
        if status not in STATUSES:
            errors.append(RowError(line, "status", f"expected one of {', '.join(STATUSES)}"))
        if not cells["authority"]:
            errors.append(RowError(line, "authority", "empty"))
        valid_until = _optional_date(line, "valid_until", cells["valid_until"], errors)
        destinations = _split(cells.get("destinations", ""))
        for code in destinations:
            if not _COUNTRY.match(code):
                errors.append(RowError(line, "destinations", f"{code!r} is not an ISO code"))
        return {
            "country": country,
            "licence_number": cells["licence_number"],
            "licence_key": key or "",
            "name": cells["name"],
            "aliases": _split(cells["aliases"]),
            "status": status,
            "valid_until": valid_until,
            "authority": cells["authority"],
            "address": cells["address"] or None,
            "phone": cells["phone"] or None,
            "destinations": destinations,
            "source": source,
            "retrieved": retrieved,
            "is_sample": is_sample,
        }

    return _parse(text, AGENCY_COLUMNS, row)


def parse_hotlines(text: str) -> list[dict[str, Any]]:
    """Rows ready for `Hotline(**row)`.

    Optional directory columns: `confidence`, `serves` (the origin an embassy serves),
    `area` (district or province, names joined by `|`), `source_url`, `retrieved` and
    `listing` (`unverified` rows may lack a number and are never shown to users). An
    advice centre is a place to go: it needs an `area`, not a number.
    """

    def row(line: int, cells: dict[str, str], errors: list[RowError]) -> dict[str, Any] | None:
        country = cells["country"].upper()
        if not _COUNTRY.match(country):
            errors.append(RowError(line, "country", "expected a two-letter ISO country code"))
        if cells["purpose"] not in PURPOSES:
            errors.append(RowError(line, "purpose", f"expected one of {', '.join(PURPOSES)}"))
        listing = cells.get("listing", "").lower() or "public"
        if listing not in LISTINGS:
            errors.append(RowError(line, "listing", f"expected one of {', '.join(LISTINGS)}"))
        in_person = cells["purpose"] == IN_PERSON
        if listing != UNVERIFIED and not in_person and not regex.search(r"\d{3}", cells["number"]):
            errors.append(RowError(line, "number", "no phone number found"))
        if in_person and not cells.get("area"):
            errors.append(RowError(line, "area", "an advice centre names its district or town"))
        for column in ("organization", "source"):
            if not cells[column]:
                errors.append(RowError(line, column, "empty"))
        confidence = cells.get("confidence", "").upper() or None
        if confidence and confidence not in CONFIDENCES:
            errors.append(RowError(line, "confidence", f"expected one of {CONFIDENCES}"))
        serves = cells.get("serves", "").upper() or None
        if serves and not _COUNTRY.match(serves):
            errors.append(RowError(line, "serves", f"{serves!r} is not an ISO code"))
        if cells["purpose"] == "embassy" and not serves:
            errors.append(RowError(line, "serves", "an embassy row names the origin it serves"))
        url = cells.get("source_url", "") or None
        if url and not regex.match(r"https?://\S+$", url):
            errors.append(RowError(line, "source_url", "expected an http(s) address"))
        return {
            "country": country,
            "purpose": cells["purpose"],
            "number": cells["number"],
            "organization": cells["organization"],
            "hours": cells["hours"] or None,
            "languages": _split(cells["languages"]),
            "source": cells["source"],
            "verified": _optional_date(line, "verified", cells["verified"], errors),
            "confidence": confidence,
            "serves": serves,
            "area": cells.get("area") or None,
            "source_url": url,
            "retrieved": _optional_date(line, "retrieved", cells.get("retrieved", ""), errors),
            "listing": listing,
        }

    return _parse(text, HOTLINE_COLUMNS, row)


def apply_agencies(
    session: Session, rows: list[dict[str, Any]], *, country: str, source: str
) -> int:
    """Replace the snapshot of (country, source) with `rows`, inside the caller's transaction.

    A real list also retires the country's SAMPLE rows: sample data must never sit beside, or be
    mistaken for, an official list.
    """
    stale = Agency.source == source
    if not any(row["is_sample"] for row in rows):
        stale = or_(stale, Agency.is_sample.is_(True))
    session.execute(delete(Agency).where(Agency.country == country, stale))
    session.add_all(Agency(**{**row, "country": country, "source": source}) for row in rows)
    session.flush()
    return len(rows)


def apply_hotlines(session: Session, rows: list[dict[str, Any]]) -> int:
    """Replace the hotlines of every country the file lists: the file is that country's truth."""
    countries = {row["country"] for row in rows}
    session.execute(delete(Hotline).where(Hotline.country.in_(countries)))
    session.add_all(Hotline(**row) for row in rows)
    session.flush()
    return len(rows)


RowParser = Callable[[int, dict[str, str], list[RowError]], dict[str, Any] | None]


def _parse(text: str, required: Iterable[str], parse_row: RowParser) -> list[dict[str, Any]]:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = [c for c in required if c not in (reader.fieldnames or [])]
    if missing:
        raise ImportFailed([RowError(1, c, "column missing from the header") for c in missing])
    errors: list[RowError] = []
    rows: list[dict[str, Any]] = []
    for cells in reader:
        line = reader.line_num
        if None in cells:
            errors.append(RowError(line, "*", "more cells than header columns"))
            continue
        clean = {k: (v or "").strip() for k, v in cells.items()}
        if not any(clean.values()):
            continue
        parsed = parse_row(line, clean, errors)
        if parsed is not None:
            rows.append(parsed)
    if errors:
        raise ImportFailed(errors)
    if not rows:
        raise ImportFailed([RowError(1, "*", "the file has no rows")])
    return rows


def _optional_date(line: int, column: str, value: str, errors: list[RowError]) -> date | None:
    if not value:
        return None
    try:
        return parse_date(value)
    except ValueError as exc:
        errors.append(RowError(line, column, str(exc)))
        return None


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split("|") if part.strip()]
