"""Risk from a message's intent and distress indicators (issue 9).

The model names a situation `<intent>+<indicator>+...` (`urgent_help+violence`,
`info_fees+debt_bondage`); a label without indicators is a plain intent. Risk follows the
hotline workers' rule: danger now is `urgent` (the model's `urgent_help`, or an indicator that
is danger by itself: violence, confinement, threats, a minor, sexual exploitation, forced
criminality), other indicators are a `concern` (wages withheld, documents kept, debt,
deception, excessive hours), and no indicator is `none` (questions about trafficking too).
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.vocabulary import Indicator, Risk

URGENT_INTENT = "urgent_help"
RISK_ORDER = (Risk.NONE, Risk.CONCERN, Risk.URGENT)
LABEL_SEPARATOR = "+"

# Danger now whatever else the message says.
URGENT_INDICATORS = frozenset(
    {
        Indicator.VIOLENCE,
        Indicator.RESTRICTION_OF_MOVEMENT,
        Indicator.INTIMIDATION,
        Indicator.MINOR,
        Indicator.SEXUAL_EXPLOITATION,
        Indicator.FORCED_CRIMINALITY,
    }
)


_INDICATORS = {indicator.value: indicator for indicator in Indicator}


def split_label(label: str) -> tuple[str, tuple[Indicator, ...]]:
    """`info_fees+debt_bondage` -> ("info_fees", (debt_bondage,)); unknown indicators dropped."""
    intent, *rest = label.split(LABEL_SEPARATOR)
    return intent, tuple(_INDICATORS[name] for name in rest if name in _INDICATORS)


def merge(*groups: Iterable[Indicator]) -> tuple[Indicator, ...]:
    """Indicators of several sources, each once, in order of first appearance."""
    return tuple(dict.fromkeys(i for group in groups for i in group))


def assess(intent: str, indicators: Iterable[Indicator]) -> Risk:
    found = set(indicators)
    if intent == URGENT_INTENT or found & URGENT_INDICATORS:
        return Risk.URGENT
    return Risk.CONCERN if found else Risk.NONE
