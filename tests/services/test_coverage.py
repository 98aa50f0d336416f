"""The corridor directory: new import columns, all-or-nothing, and the coverage table."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from bot.cli.registry import app
from bot.db.models import Hotline
from bot.db.session import Database
from bot.services import coverage, hotlines
from bot.services.imports import ImportFailed, apply_hotlines, parse_hotlines

CONTRACT = "country,purpose,number,organization,hours,languages,source,verified\n"
DIRECTORY = CONTRACT.rstrip("\n") + ",confidence,serves,area,source_url,retrieved,listing\n"
SHIPPED = Path(__file__).resolve().parents[2] / "data" / "hotlines.csv"


def test_the_contract_columns_alone_still_import() -> None:
    rows = parse_hotlines(CONTRACT + "TH,emergency,191,Police,24/7,th|en,some page,\n")
    assert rows[0]["listing"] == "public" and rows[0]["source_url"] is None


def test_directory_columns_are_read() -> None:
    rows = parse_hotlines(
        DIRECTORY + "SA,embassy,800 100 125,Embassy of Bangladesh,,bn|en,Janakantha,,M,bd,,"
        "https://example.org/x,2026-11-29,\n"
        + "QA,embassy,,Embassy of Myanmar,,,not found,,L,MM,,,2026-11-29,unverified\n"
    )
    embassy, unconfirmed = rows
    assert (embassy["serves"], embassy["retrieved"]) == ("BD", date(2026, 11, 29))
    assert embassy["source_url"] == "https://example.org/x"
    assert (unconfirmed["listing"], unconfirmed["number"]) == ("unverified", "")


def test_every_bad_directory_cell_is_reported() -> None:
    with pytest.raises(ImportFailed) as failed:
        parse_hotlines(
            DIRECTORY
            + "SA,embassy,800 100 125,Embassy,,bn,src,,M,,,ftp://x,2026-13-01,\n"
            + "SA,labour,,Ministry,,ar,src,,M,,,,,hidden\n"
            + "SA,labour,,Ministry,,ar,src,,M,Saudi,,,,\n"
        )
    assert [str(e) for e in failed.value.errors] == [
        "line 2, column serves: an embassy row names the origin it serves",
        "line 2, column source_url: expected an http(s) address",
        "line 2, column retrieved: '2026-13-01' is not a date as YYYY-MM-DD",
        "line 3, column listing: expected one of public, unverified",
        "line 3, column number: no phone number found",
        "line 4, column number: no phone number found",
        "line 4, column serves: 'SAUDI' is not an ISO code",
    ]


def test_unverified_rows_and_other_origins_embassies_are_never_found(session: Session) -> None:
    apply_hotlines(
        session,
        parse_hotlines(
            DIRECTORY
            + "SA,embassy,800 100 125,Embassy of Bangladesh,,bn,src,,M,BD,,,,\n"
            + "SA,embassy,,Embassy of Myanmar,,,not found,,L,MM,,,,unverified\n"
        ),
    )
    assert [h.serves for h in hotlines.find(session, "SA", origin="BD")] == ["BD"]
    assert hotlines.find(session, "SA", origin="MM") == []


def _shipped(session: Session) -> list[coverage.Cell]:
    apply_hotlines(session, parse_hotlines(SHIPPED.read_text(encoding="utf-8")))
    return coverage.table(session.scalars(select(Hotline)), date(2026, 11, 29))


def test_shipped_directory_covers_every_destination(session: Session) -> None:
    cells = _shipped(session)
    assert coverage.missing_essentials(cells) == []
    for cell in cells:
        if cell.country in coverage.DESTINATIONS and cell.usable:
            rows = [h for h in session.scalars(select(Hotline)) if h.number in cell.numbers]
            assert all(h.source and h.confidence for h in rows), cell


def test_shipped_directory_lists_every_gulf_and_asean_embassy(session: Session) -> None:
    cells = {(c.country, c.purpose): c for c in _shipped(session)}
    for country in ("SA", "AE", "QA", "KW", "OM", "BH", "MY", "TH", "SG"):
        for origin in coverage.ORIGINS:
            cell = cells[(country, f"embassy:{origin}")]
            assert cell.usable or "unverified" in cell.marks, cell


def test_coverage_marks_gaps_stale_and_low_confidence() -> None:
    old = Hotline(
        country="OM", purpose="labour", number="80077000", organization="MoL", languages=["ar"],
        source="y", confidence="L-M", retrieved=date(2017, 11, 6), listing="public",
    )  # fmt: skip
    cells = {(c.country, c.purpose): c for c in coverage.table([old], date(2026, 11, 29))}
    assert cells[("OM", "labour")].marks == ("stale", "low", "no-url")
    assert cells[("OM", "emergency")].marks == ("GAP",)
    assert "OM: no emergency number" in coverage.missing_essentials(list(cells.values()))
    table = coverage.render(list(cells.values()))
    assert "OM    labour" in table and "80077000  [stale, low, no-url]" in table


def test_cli_coverage_prints_the_table_and_passes(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bot.cli.registry.get_settings", lambda: _Settings(sqlite_url))
    assert CliRunner().invoke(app, ["import-hotlines", str(SHIPPED)]).exit_code == 0
    result = CliRunner().invoke(app, ["coverage"])
    assert result.exit_code == 0, result.output
    assert "SA    emergency" in result.output and "911" in result.output
    assert "MISSING" not in result.output


def test_cli_coverage_fails_when_a_destination_has_nothing(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr("bot.cli.registry.get_settings", lambda: _Settings(sqlite_url))
    only = tmp_path / "th.csv"
    only.write_text(CONTRACT + "TH,emergency,191,Police,24/7,th,some page,\n", encoding="utf-8")
    assert CliRunner().invoke(app, ["import-hotlines", str(only)]).exit_code == 0
    result = CliRunner().invoke(app, ["coverage"])
    assert result.exit_code == 1
    assert "MISSING KW: no emergency number" in result.output
    Database(sqlite_url).dispose()


class _Settings:
    def __init__(self, url: str) -> None:
        self.DATABASE_URL = url


def test_advice_centres_show_their_place(session: Session) -> None:
    cells = {(c.country, c.purpose): c for c in _shipped(session)}
    assert "Siem Reap" in cells[("KH", "advice_centre")].numbers
    assert "Dawei" in cells[("MM", "advice_centre")].numbers
    assert "Sylhet" in cells[("BD", "advice_centre")].numbers
    assert cells[("BD", "advice_centre")].marks == ()
