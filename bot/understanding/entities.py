"""Canonical entity values shared by the Rasa client and the keyword router.

- `country`: ISO 3166-1 alpha-2, upper case (the Rasa model maps names in all four languages
  to codes with synonyms; anything else is dropped rather than guessed).
- `licence_number`: "RL-<digits>" when the recruiting-licence prefix RL was written (Bangladesh
  style: "RL-1234", "rl 1234", "R.L.1234"), otherwise the bare ASCII digits ("লাইসেন্স ১২৩৪"
  -> "1234"). Registries store numbers in the same two forms.
"""

from __future__ import annotations

import regex

from bot.understanding.normalize import ascii_digits

_RL = regex.compile(r"(?<![a-z])r\.?\s?l(?![a-z])", regex.IGNORECASE)
_ISO = regex.compile(r"^[A-Z]{2}$")


def canonical_licence(raw: str) -> str | None:
    digits = "".join(regex.findall(r"\d", ascii_digits(raw)))
    if not digits:
        return None
    return f"RL-{digits}" if _RL.search(raw) else digits


def canonical_country(raw: str) -> str | None:
    value = raw.strip().upper()
    return value if _ISO.match(value) else None
