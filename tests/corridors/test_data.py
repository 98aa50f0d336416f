"""The corridor data: every card cites known sources; a cost without a source is refused."""

from __future__ import annotations

import pytest

from bot.corridors.data import Corridors, corridors

CARDS = {
    "mm_th", "mm_my", "kh_th", "kh_kr", "kh_jp", "kh_my",
    "bd_gulf", "bd_my", "bd_sg", "bd_jp", "bd_kr", "scam",
}  # fmt: skip


def test_every_card_is_there_with_sources() -> None:
    data = corridors()
    assert set(data.cards) == CARDS
    for card in data.cards.values():
        for name in card.sources:
            source = data.sources[name]
            assert source.url.startswith("http") and source.title and source.retrieved


def test_cards_by_route() -> None:
    data = corridors()
    assert data.card_for("BD", "SA") == "bd_gulf"
    assert data.card_for(None, "QA") == "bd_gulf"  # only Bangladesh has a Gulf card
    assert data.card_for(None, "TH") is None  # Myanmar and Cambodia both do
    assert data.card_for("KH", "KR") == "kh_kr"
    assert data.cards_from("MM") == ["mm_th", "mm_my", "scam"]


def test_the_gulf_costs_are_taka_with_a_year() -> None:
    costs = corridors().cards["bd_gulf"].costs
    assert costs["SA"].amount == 165_000 and costs["SA"].currency == "BDT"
    assert {c.year for c in costs.values()} <= {2016, 2017}


def test_unknown_source_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown source"):
        Corridors.model_validate(
            {
                "sources": {},
                "cards": {"x": {"origin": "BD", "destinations": ["SA"], "sources": ["nowhere"]}},
            }
        )
