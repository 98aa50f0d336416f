"""Flow actions for corridors: pick the card for a person's route, judge a fee, check an ad.

The card comes from the reply language (Burmese → Myanmar, Khmer → Cambodia, Bengali →
Bangladesh) and the `country` slot (where the job is); a tap may name it (`card` slot).
"""

from __future__ import annotations

from bot.corridors.amounts import Amount, first_amount, localize_digits
from bot.corridors.data import Card, Cost, corridors
from bot.corridors.job_offer import AD_LENGTH, FLAGS, red_flags
from bot.dialogue.actions import LANGUAGE_ORIGIN, Action, ActionContext, Outcome, _country_name
from bot.dialogue.flows import payload_of
from bot.messages import Choice

CURRENCY_CODES = ("BDT", "MMK", "KHR", "THB", "USD", "MYR", "JPY", "KRW", "SAR", "SGD")
CARD_OUTCOMES = ("card", "choose", "general")
FEE_OUTCOMES = ("over", "within", "no_official", "other_currency", "need_country")


def money(amount: int, currency: str | None, ctx: ActionContext) -> str:
    """ "Tk 165,000" / "১৬৫,০০০ টাকা": the currency's local name from the locales."""
    digits = localize_digits(f"{amount:,}", ctx.language)
    if not currency:
        return digits
    return ctx.t("corridor.money", ctx.language, amount=digits, currency=_currency(currency, ctx))


def _currency(code: str, ctx: ActionContext) -> str:
    return ctx.t(f"currency.{code}", ctx.language) if code in CURRENCY_CODES else code


def _origin(ctx: ActionContext) -> str | None:
    return LANGUAGE_ORIGIN.get(ctx.language)


def _chosen(ctx: ActionContext) -> str | None:
    """The card a tap named, or the one for this person's route."""
    data = corridors()
    named = str(ctx.slots.get("card") or "")
    if named in data.cards:
        return named
    return data.card_for(_origin(ctx), str(ctx.slots.get("country") or "") or None)


def _card_values(ctx: ActionContext, name: str) -> dict[str, str]:
    card = corridors().cards[name]
    lang = ctx.language
    return {
        "card": name,
        "card_text": ctx.t(f"corridor.{name}.text", lang),
        "costs": _cost_lines(ctx, card),
    }


def _cost_lines(ctx: ActionContext, card: Card) -> str:
    if not card.origin:
        return ""
    if not card.costs:
        return ctx.t("corridor.no_cost", ctx.language)
    lines = [
        ctx.t(
            f"corridor.cost_line.{cost.kind}",
            ctx.language,
            country=_country_name(ctx, code),
            amount=money(cost.amount, cost.currency, ctx),
            year=localize_digits(str(cost.year), ctx.language),
        )
        for code, cost in card.costs.items()
    ]
    return "\n".join(lines)


def _choices(ctx: ActionContext) -> list[Choice]:
    return [
        Choice(
            ctx.t(f"corridor.{name}.title", ctx.language),
            payload_of("corridors.guide", {"card": name}),
        )
        for name in corridors().cards_from(_origin(ctx))
    ]


def corridor_card(ctx: ActionContext) -> Outcome:
    """The card for this route, or the cards to choose from."""
    name = None if ctx.slots.get("list") else _chosen(ctx)
    if name:
        return Outcome("card", _card_values(ctx, name))
    return Outcome("choose", {"card_text": ""}, choices=_choices(ctx))


def fee_check(ctx: ActionContext) -> Outcome:
    """Compare the amount typed with the official cost for the route, where one is published."""
    amount = first_amount(ctx.text) or _remembered(ctx)
    if amount is None:  # the route's card, or the general fees tip when the route is unknown
        return corridor_card(ctx) if _chosen(ctx) else Outcome("general", {"card_text": ""})
    remember = {"amount": str(amount.value), "amount_currency": amount.currency or ""}
    destination = str(ctx.slots.get("country") or "")
    name = _chosen(ctx)
    if not destination and (name is None or len(corridors().cards[name].destinations) != 1):
        return Outcome("need_country", remember)
    destination = destination or corridors().cards[name or ""].destinations[0]
    values = {
        **remember,
        **(_card_values(ctx, name) if name else {"card_text": ""}),
        "typed": money(amount.value, amount.currency, ctx),
        "country_name": _country_name(ctx, destination),
    }
    cost = corridors().cards[name].costs.get(destination) if name else None
    if cost is None:
        return Outcome("no_official", values)
    values.update(
        official=money(cost.amount, cost.currency, ctx),
        year=localize_digits(str(cost.year), ctx.language),
    )
    if amount.currency and amount.currency != cost.currency:
        return Outcome("other_currency", values)
    return _compare(ctx, amount, cost, values)


def _compare(ctx: ActionContext, amount: Amount, cost: Cost, values: dict[str, str]) -> Outcome:
    if amount.value <= cost.amount:
        return Outcome("within", values)
    times = f"{amount.value / cost.amount:.1f}".removesuffix(".0")
    return Outcome("over", {**values, "times": localize_digits(times, ctx.language)})


def _remembered(ctx: ActionContext) -> Amount | None:
    """An amount typed before we asked which country (kept as digits, never the message)."""
    value = str(ctx.slots.get("amount") or "")
    if not value.isdigit():
        return None
    return Amount(int(value), str(ctx.slots.get("amount_currency") or "") or None)


def job_check(ctx: ActionContext) -> Outcome:
    """Red flags in the ad in this message; a short message asks for the ad itself."""
    flags = red_flags(ctx.text)
    if flags:
        lines = [
            f"{i}. {ctx.t(f'corridor.flag.{flag}', ctx.language)}"
            for i, flag in enumerate(flags, 1)
        ]
        count = localize_digits(str(len(flags)), ctx.language)
        return Outcome("flags", {"flags": "\n".join(lines), "count": count})
    if ctx.slots.get("ad") or len(ctx.text) >= AD_LENGTH:
        return Outcome("clean")
    return Outcome("ask")


_CARD_KEYS = tuple(
    key for name in corridors().cards for key in (f"corridor.{name}.text", f"corridor.{name}.title")
)
_MONEY_KEYS = (
    "corridor.money",
    "corridor.no_cost",
    "corridor.cost_line.migration_cost",
    "corridor.cost_line.service_fee",
    *(f"currency.{code}" for code in CURRENCY_CODES),
)
CORRIDOR_ACTIONS: dict[str, Action] = {
    "corridor_card": Action(
        corridor_card, CARD_OUTCOMES, keys=_CARD_KEYS + _MONEY_KEYS, targets=("corridors.guide",)
    ),
    "fee_check": Action(fee_check, CARD_OUTCOMES + FEE_OUTCOMES, keys=_CARD_KEYS + _MONEY_KEYS),
    "job_check": Action(
        job_check, ("flags", "clean", "ask"), keys=tuple(f"corridor.flag.{f}" for f in FLAGS)
    ),
}
