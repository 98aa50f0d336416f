"""The O1.1.3 report from conversations driven through the signed webhooks, counted exactly.

Seventeen people on both channels and four languages use the promoted resources (one also
deletes their data, one is misunderstood twice); the report must count each family's unique
users and interactions exactly and hide the small cells, and the analytics tables must hold
no platform id and no typed text.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select, text
from typer.testing import CliRunner

from bot.cli import app as cli
from bot.clock import utcnow
from bot.db.models import AnalyticsEvent, User
from bot.services import indicators
from bot.services.seed import seed_if_empty
from tests.fixtures.bot import RunningBot

TH_HOTLINE = "hotline.lookup|country=TH&purpose="
KH_URGENT = "urgent.numbers|country=KH"
CHECK = "agency.ask|query=RL-1024&agency_country=BD"
SECRET_TEXT = "qwxz AB1234567 0812345678"  # understood as nothing

# user: (channel, language, sex or None, taps after choosing the language)
PEOPLE: dict[str, tuple[str, str, str | None, list[str]]] = {
    "psid-L1": ("messenger", "bn", "female",
                ["tips.fees", "tips.fees", "tips.rights", TH_HOTLINE + "anti_trafficking"]),
    "psid-L2": ("messenger", "bn", "female", ["tips.fees"]),
    "psid-L3": ("messenger", "bn", "female", ["tips.documents"]),
    "psid-L4": ("messenger", "bn", "female", ["tips.contract"]),
    "viber-L5": ("viber", "bn", "female", ["tips.job_offer"]),
    "psid-L6": ("messenger", "en", "male", ["tips.fees"]),
    "viber-L7": ("viber", "en", None, ["tips.fees", "privacy.delete"]),
    "psid-H1": ("messenger", "en", "female", [TH_HOTLINE + "anti_trafficking"]),
    "psid-H2": ("messenger", "en", "female", [TH_HOTLINE + "anti_trafficking"]),
    "psid-H3": ("messenger", "my", "male", [TH_HOTLINE + "emergency"]),
    "viber-H4": ("viber", "my", "male", [TH_HOTLINE + "labour"]),
    "viber-H5": ("viber", "km", "other", [KH_URGENT, "urgent.start"]),
    "psid-H6": ("messenger", "km", None, [KH_URGENT]),
    "psid-A1": ("messenger", "bn", None, [CHECK]),
    "viber-A2": ("viber", "en", None, [CHECK]),
    "psid-T1": ("messenger", "en", None, ["human.start"]),
    "viber-T2": ("viber", "my", None, ["human.start"]),
}  # fmt: skip


def _expected() -> dict[str, dict[str, object]]:
    lt = "<5"
    return {
        "find_help": {
            "unique_users": 7,  # H1-H6 and L1
            "interactions": 9,  # H5: urgent numbers, then urgent help (case + numbers)
            "by_sex": {"female": lt, "male": lt, "not_stated": lt, "other": lt},
            "by_channel": {"messenger": lt, "viber": lt},
            "by_language": {"bn": lt, "en": lt, "km": lt, "my": lt},
            "by_country": {"KH": lt, "TH": lt},
        },
        "learn": {
            "unique_users": 7,  # L7 deleted their data and still counts
            "interactions": 9,
            "by_sex": {"female": 5, "male": lt, "not_stated": lt, "other": 0},
            "by_channel": {"messenger": lt, "viber": lt},
            "by_language": {"bn": lt, "en": lt},
            "by_country": {"unknown": 7},
        },
        "licence_check": {
            "unique_users": 2,
            "interactions": 2,
            # The one small cell would follow from the total: a zero cell is hidden with it.
            "by_sex": {"female": lt, "male": 0, "not_stated": lt, "other": 0},
            "by_channel": {"messenger": lt, "viber": lt},
            "by_language": {"bn": lt, "en": lt},
            "by_country": {"unknown": lt},
        },
        "talk_to_person": {
            "unique_users": 3,  # T1, T2 and H5 (urgent help opens a case)
            "interactions": 3,
            "by_sex": {"female": 0, "male": 0, "not_stated": lt, "other": lt},
            "by_channel": {"messenger": lt, "viber": lt},
            "by_language": {"en": lt, "km": lt, "my": lt},
            "by_country": {"KH": lt, "unknown": lt},
        },
    }


@pytest.fixture
def month(bot: RunningBot) -> str:
    """Drive every conversation; the month they happened in."""
    with bot.db.session() as session:
        seed_if_empty(session)
    month = utcnow().strftime("%Y-%m")
    for user, (channel, language, sex, taps) in PEOPLE.items():
        bot.tap(user, f"start.privacy|lang={language}", channel)
        if sex:
            bot.tap(user, f"profile.save|sex={sex}", channel)
        for payload in taps:
            bot.tap(user, payload, channel)
    for _ in range(3):  # a greeting, then misunderstood twice: offered a person; nothing counts
        bot.say("psid-N1", SECRET_TEXT)
    if utcnow().strftime("%Y-%m") != month:
        pytest.skip("the month changed while the conversations ran")
    return month


def test_report_counts_and_suppresses_exactly(
    bot: RunningBot, month: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Programme year Y1 and the baseline both start this month.
    settings = bot.settings.model_copy(
        update={"REPORTING_YEAR_START": month, "INDICATOR_BASELINE": month}
    )
    with bot.db.sessions() as session:
        doc = indicators.report(session, month, month, settings)
        resources = set(session.scalars(select(AnalyticsEvent.resource)))
    [entry] = doc["months"]
    assert entry["month"] == month
    assert entry["families"] == _expected()
    assert entry["total_unique_users"] == 17
    assert {"licence_check:BD:found", "hotline:KH:urgent"} <= resources
    assert "escalation:misunderstood" not in resources, "no case opens by itself"
    assert doc["progress"][month]["find_help"] == {
        "change_pct": 0.0, "programme_year": "Y1", "per": "year", "target": 500,
        "achieved": 7, "progress_pct": 1.4,
    }  # fmt: skip

    monkeypatch.setattr("bot.cli.report.get_settings", lambda: settings)
    args = ["report", "indicators", "--from", month, "--to", month]
    as_json = CliRunner().invoke(cli, [*args, "--format", "json"])
    assert as_json.exit_code == 0, as_json.output
    assert json.loads(as_json.output) == doc
    as_csv = CliRunner().invoke(cli, [*args, "--format", "csv"]).output.splitlines()
    assert f"{month},learn,total,,7,9,300,7,2.3,0.0" in as_csv  # Y1 learn: 300 a month
    assert f"{month},learn,sex,male,<5,,,,," in as_csv
    markdown = CliRunner().invoke(cli, [*args, "--format", "md"]).output
    assert f"## {month}: 17 unique users" in markdown


def test_no_platform_id_or_text_in_analytics(bot: RunningBot, month: str) -> None:
    tables = ("analytics_events", "analytics_monthly", "indicator_members", "indicator_counts",
              "demographics", "pseudonym_keys")  # fmt: skip
    with bot.db.sessions() as session:
        stored = [
            str(value)
            for table in tables
            for row in session.execute(text(f"SELECT * FROM {table}"))
            for value in row
            if value is not None
        ]
        addresses = set(session.scalars(select(User.address)))
    assert addresses >= {"psid-L1", "viber-H5", "psid-N1"}  # the bot does know them, elsewhere
    secrets = [*PEOPLE, "psid-N1", SECRET_TEXT, "qwxz", "AB1234567", "0812345678"]
    leaks = [(s, v) for s in secrets for v in stored if s.casefold() in v.casefold()]
    assert leaks == []
