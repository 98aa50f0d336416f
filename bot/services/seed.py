"""Starter data so a fresh install answers out of the box: hotlines and SAMPLE agency lists.

Sample lists are loaded with `is_sample=True`; every answer built from them says so.
"""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.db.models import Agency, Hotline
from bot.services.imports import apply_agencies, apply_hotlines, parse_agencies, parse_hotlines
from bot.settings import ROOT

log = logging.getLogger(__name__)

DATA = ROOT / "data"
SAMPLE_SOURCE = "SAMPLE data shipped with SafeStep (fictional agencies, not an official list)"
SAMPLE_RETRIEVED = date(2026, 11, 1)
SAMPLE_COUNTRIES = ("BD", "MM", "KH")


def sample_file(country: str) -> Path:
    return DATA / f"sample_agencies_{country}.csv"


def seed_if_empty(session: Session, data: Path = DATA) -> list[str]:
    """Load the starter files into empty tables; returns what was loaded (for the log)."""
    loaded: list[str] = []
    if not session.scalar(select(func.count(Hotline.id))):
        rows = parse_hotlines((data / "hotlines.csv").read_text(encoding="utf-8"))
        apply_hotlines(session, rows)
        loaded.append(f"{len(rows)} hotlines")
    if not session.scalar(select(func.count(Agency.id))):
        for country in SAMPLE_COUNTRIES:
            path = data / sample_file(country).name
            rows = parse_agencies(
                path.read_text(encoding="utf-8"),
                country=country,
                source=SAMPLE_SOURCE,
                retrieved=SAMPLE_RETRIEVED,
                is_sample=True,
            )
            apply_agencies(session, rows, country=country, source=SAMPLE_SOURCE)
            loaded.append(f"{len(rows)} SAMPLE agencies ({country})")
    if loaded:
        log.info("seeded an empty database: %s", ", ".join(loaded))
    return loaded
