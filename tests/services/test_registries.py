"""Agency lookups: every way people write a licence number, fuzzy names, country scope."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy.orm import Session

from bot.db.models import Agency
from bot.services import hotlines, registries


@pytest.mark.parametrize(
    "written",
    [
        "RL-1024",
        "rl 1024",
        "RL1024",
        "RL 01024",
        "আরএল ১০২৪",
        "আর এল-১০২৪",
        "licence no: RL/1024",
        "1024",
        "၁၀၂၄",
        "១០២៤",
    ],
)
def test_licence_number_in_any_form(seeded_session: Session, written: str) -> None:
    found = registries.lookup(seeded_session, written, "BD")
    assert found.agency is not None and found.agency.licence_number == "RL-1024"
    assert found.by_licence


def test_licence_keys() -> None:
    assert registries.licence_key("RL-0215") == registries.licence_key("rl 215") == "RL215"
    assert registries.licence_key("OEA-၁၀၁") == "OEA101"
    assert registries.licence_key("၁ဝ၁") == "101", "the letter wa typed for zero"
    assert registries.licence_key("no number here") is None


def test_wrong_prefix_still_finds_the_number(seeded_session: Session) -> None:
    found = registries.lookup(seeded_session, "No. 0215", "BD")
    assert found.agency is not None and found.agency.name.startswith("Golden Bridge")


@pytest.mark.parametrize(
    ("query", "country", "expected"),
    [
        ("golden bridge manpower", "BD", "Golden Bridge Manpower (SAMPLE)"),
        ("Golden Brige Manpowr", "BD", "Golden Bridge Manpower (SAMPLE)"),
        ("গোল্ডেন ব্রিজ", "BD", "Golden Bridge Manpower (SAMPLE)"),
        ("ရွှေမြေ", "MM", "Sample Golden Land Agency (SAMPLE)"),
        ("Shwe Myay", None, "Sample Golden Land Agency (SAMPLE)"),
        ("អង្គរ ម៉ែនផៅវ័រ", "KH", "Sample Angkor Manpower (SAMPLE)"),
    ],
)
def test_fuzzy_names(
    seeded_session: Session, query: str, country: str | None, expected: str
) -> None:
    found = registries.lookup(seeded_session, query, country)
    names = [found.agency.name] if found.agency else [a.name for a in found.candidates]
    assert expected in names


def test_ambiguous_name_offers_up_to_three(seeded_session: Session) -> None:
    found = registries.lookup(seeded_session, "Sample Lotus", None)
    assert found.agency is None
    assert {a.country for a in found.candidates} == {"MM", "KH"}
    assert len(found.candidates) <= 3


def test_country_scope_prefers_the_users_list(seeded_session: Session) -> None:
    for country in ("MM", "KH"):
        found = registries.lookup(seeded_session, "Lotus", country)
        assert [a.country for a in ([found.agency] if found.agency else found.candidates)] == [
            country
        ]
    # Outside the scope, a clear match in another list is still found.
    assert registries.lookup(seeded_session, "Angkor Manpower", "BD").agency is not None


def test_unknown_names_and_filler_words_find_nothing(seeded_session: Session) -> None:
    for query in ("Nowhere Travels", "agency", "အေဂျင်စီ", "ltd"):
        found = registries.lookup(seeded_session, query, "MM")
        assert found.agency is None and not found.candidates, query
        assert found.snapshot is not None and found.snapshot.retrieved == date(2026, 11, 1)


@pytest.mark.parametrize(
    "query",
    [
        "Nowhere Overseas",
        "Best Manpower International Ltd",
        "Overseas Recruiting Agency",
        "ABC Services Co",
        "ফেক ওভারসিজ লিমিটেড",
        "ညီညီ မန်ပါဝါ အေဂျင်စီ",
        "ពន្លឺ ម៉ែនផៅវ័រ",
        "Royal Overseas",
    ],
)
def test_generic_words_carry_no_weight(seeded_session: Session, query: str) -> None:
    """Sharing "Overseas" or "Manpower" with a licensed agency makes no "did you mean"."""
    found = registries.lookup(seeded_session, query, None)
    names = [a.name for a in found.candidates] + ([found.agency.name] if found.agency else [])
    shared_only_generic = [n for n in names if "Royal" not in n]
    assert not shared_only_generic, names


def test_distinctive_words_still_match_with_generic_words_around_them(
    seeded_session: Session,
) -> None:
    found = registries.lookup(seeded_session, "Golden Bridge Overseas Recruiting Agency", "BD")
    assert found.agency is not None and found.agency.licence_number == "RL-0215"
    found = registries.lookup(seeded_session, "ရွှေမြေအေဂျင်စီ", "MM")
    assert found.agency is not None and found.agency.licence_number == "OEA-101"


def test_expired_by_date_even_if_listed_active(seeded_session: Session) -> None:
    found = registries.lookup(seeded_session, "RL-0333", "BD").agency
    assert isinstance(found, Agency) and found.status == "active"
    assert registries.effective_status(found, date(2026, 11, 22)) == "expired"


def test_sample_lists_are_marked(seeded_session: Session) -> None:
    snapshot = registries.snapshot(seeded_session, "KH")
    assert snapshot is not None and snapshot.is_sample and "SAMPLE" in snapshot.source


def test_hotlines_by_country_and_purpose(seeded_session: Session) -> None:
    th = hotlines.find(seeded_session, "TH")
    assert [h.purpose for h in th] == ["emergency", "anti_trafficking", "labour", "child"]
    assert [h.number for h in hotlines.find(seeded_session, "KH", hotlines.URGENT_PURPOSES)][
        :2
    ] == [
        "117",
        "1288",
    ]
    assert all(h.source and h.confidence for h in th)
    child = hotlines.find(seeded_session, "BD", ("child", *hotlines.URGENT_PURPOSES))
    assert [h.number for h in child][:2] == ["1098", "999"], "in the order the purposes are asked"


@pytest.mark.parametrize(
    ("number", "country", "dial"),
    [
        ("1300", "TH", "1300"),
        ("023 997 919", "KH", "+85523997919"),
        ("+880 9610 102030", "BD", "+8809610102030"),
        ("03-8000 8000", "MY", "+60380008000"),
    ],
)
def test_dial_values(number: str, country: str, dial: str) -> None:
    assert hotlines.dial_value(number, country) == dial
