"""CSV imports: a bad row fails the whole file with a report; re-import replaces the snapshot."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from bot.cli.registry import app
from bot.db.models import Agency, Hotline
from bot.db.session import Database
from bot.services.imports import ImportFailed, apply_agencies, parse_agencies, parse_hotlines

HEADER = "licence_number,name,aliases,status,valid_until,authority,address,phone,destinations\n"
GOOD = HEADER + (
    "RL-0001,Alpha Overseas,আলফা|Alpha,active,2027-01-01,BMET,Dhaka,+880 1,MY|SA\n"
    "RL-0002,Beta Manpower,,suspended,,BMET,,,\n"
)
BAD = HEADER + (
    "RL-0001,Alpha Overseas,,active,2027-01-01,BMET,Dhaka,,\n"
    "RL-0001,Alpha Again,,active,2027-13-01,BMET,,,\n"
    ",No Number,,closed,,,,,Malaysia\n"
)


def _count(db: Database, model: type) -> int:
    with db.sessions() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_every_bad_row_is_reported_with_line_and_column() -> None:
    with pytest.raises(ImportFailed) as failed:
        parse_agencies(BAD, country="BD", source="BMET", retrieved=date(2026, 5, 1))
    report = [str(e) for e in failed.value.errors]
    assert report == [
        "line 3, column licence_number: same licence as line 2",
        "line 3, column valid_until: '2027-13-01' is not a date as YYYY-MM-DD",
        "line 4, column licence_number: no licence number found",
        "line 4, column status: expected one of active, suspended, cancelled, expired",
        "line 4, column authority: empty",
        "line 4, column destinations: 'Malaysia' is not an ISO code",
    ]


def test_missing_columns_are_reported() -> None:
    with pytest.raises(ImportFailed) as failed:
        parse_hotlines("country,number\nTH,1300\n")
    assert "line 1, column purpose: column missing from the header" in str(failed.value)


def test_reimport_of_the_same_source_replaces_its_rows(sqlite_url: str) -> None:
    db = Database(sqlite_url)
    rows = parse_agencies(GOOD, country="BD", source="BMET", retrieved=date(2026, 5, 1))
    assert rows[0]["aliases"] == ["আলফা", "Alpha"] and rows[0]["destinations"] == ["MY", "SA"]
    with db.session() as session:
        apply_agencies(session, rows, country="BD", source="BMET")
        apply_agencies(session, rows[:1], country="BD", source="other list")
    newer = parse_agencies(HEADER + "RL-0009,Gamma,,active,,BMET,,,\n", country="BD",
                           source="BMET", retrieved=date(2026, 6, 1))  # fmt: skip
    with db.session() as session:
        apply_agencies(session, newer, country="BD", source="BMET")
    with db.sessions() as session:
        kept = session.execute(select(Agency.source, Agency.licence_key)).all()
    assert sorted(kept) == [("BMET", "RL9"), ("other list", "RL1")]
    db.dispose()


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "list.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_cli_bad_file_changes_nothing(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bot.cli.registry.get_settings", lambda: _Settings(sqlite_url))
    args = ["--country", "BD", "--source", "BMET", "--retrieved", "2026-05-01"]
    result = CliRunner().invoke(app, ["import-agencies", str(_write(tmp_path, BAD)), *args])
    assert result.exit_code == 1
    assert "line 3, column valid_until" in result.output and "nothing was imported" in result.output
    assert _count(Database(sqlite_url), Agency) == 0

    result = CliRunner().invoke(app, ["import-agencies", str(_write(tmp_path, GOOD)), *args])
    assert result.exit_code == 0, result.output
    assert _count(Database(sqlite_url), Agency) == 2


def test_cli_imports_the_shipped_hotlines(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("bot.cli.registry.get_settings", lambda: _Settings(sqlite_url))
    path = Path(__file__).resolve().parents[2] / "data" / "hotlines.csv"
    for _ in range(2):  # re-import replaces, never duplicates
        result = CliRunner().invoke(app, ["import-hotlines", str(path)])
        assert result.exit_code == 0, result.output
    assert _count(Database(sqlite_url), Hotline) == len(path.read_text().splitlines()) - 1


def test_a_real_list_retires_the_countrys_sample_rows(seeded_session: Session) -> None:
    rows = parse_agencies(GOOD, country="KH", source="MoLVT", retrieved=date(2026, 5, 1))
    apply_agencies(seeded_session, rows, country="KH", source="MoLVT")
    kh = seeded_session.scalars(select(Agency.is_sample).where(Agency.country == "KH")).all()
    assert kh == [False, False]
    assert seeded_session.scalars(select(Agency.is_sample).where(Agency.country == "BD")).all()


class _Settings:
    def __init__(self, url: str) -> None:
        self.DATABASE_URL = url
