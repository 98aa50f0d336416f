"""Risk from intent and indicators: danger now is urgent, other signs a concern."""

from __future__ import annotations

import pytest

from bot.understanding.risk import assess, merge, split_label
from bot.vocabulary import Indicator, Risk


@pytest.mark.parametrize(
    ("intent", "indicators", "risk"),
    [
        ("urgent_help", (), Risk.URGENT),
        ("info_fees", (Indicator.DEBT_BONDAGE,), Risk.CONCERN),
        ("info_rights", (Indicator.WAGE_WITHHOLDING, Indicator.EXCESSIVE_OVERTIME), Risk.CONCERN),
        ("info_documents", (Indicator.FORGED_DOCUMENTS, Indicator.MINOR), Risk.URGENT),
        ("info_rights", (Indicator.VIOLENCE,), Risk.URGENT),
        ("info_job_offer", (), Risk.NONE),
    ],
)
def test_assess(intent: str, indicators: tuple[Indicator, ...], risk: Risk) -> None:
    assert assess(intent, indicators) is risk


def test_split_label_and_merge() -> None:
    assert split_label("greet") == ("greet", ())
    assert split_label("urgent_help+minor+forged_documents") == (
        "urgent_help",
        (Indicator.MINOR, Indicator.FORGED_DOCUMENTS),
    )
    assert merge((Indicator.MINOR,), (Indicator.VIOLENCE, Indicator.MINOR)) == (
        Indicator.MINOR,
        Indicator.VIOLENCE,
    )
