"""Every reply fits both platforms: the longest lists, in every language, through `fit` and
`render` of the real channel modules (table-driven, one row per language × list).

Messenger: text ≤ 2000, button-template text ≤ 640 with ≤ 3 buttons, ≤ 13 quick replies with
titles ≤ 20 graphemes. Viber: text ≤ 7000, keyboards ≤ 24 buttons. A list keeps its line
breaks, and each call button travels with the piece that shows its number.
"""

from __future__ import annotations

from datetime import date

import pytest
import regex

from bot.channels.messenger import Messenger
from bot.channels.text import grapheme_len
from bot.channels.viber import Viber
from bot.db.models import Hotline
from bot.db.session import Database
from bot.messages import Reply
from tests.channels.test_handlers import messenger, viber
from tests.dialogue.chat import Chat

LANGUAGES = ("en", "my", "km", "bn")
# Cambodia's full list, as long as the directory may grow: 12 lines in Khmer script names.
EXTRA_KH = [(f"023 997 9{i:02d}", f"ក្រសួងការងារ និងបណ្តុះបណ្តាលវិជ្ជាជីវៈ ខេត្ត {i}") for i in range(10)]


def _long_cambodia(db: Database) -> None:
    with db.session() as session:
        for number, organization in EXTRA_KH:
            session.add(
                Hotline(
                    country="KH",
                    purpose="labour",
                    number=number,
                    organization=organization,
                    hours="ច័ន្ទ-សុក្រ 07:30-17:00",
                    languages=["km", "en"],
                    source="test fixture",
                    verified=date(2026, 11, 1),
                )
            )


def _lists(chat: Chat, lang: str) -> dict[str, list[Reply]]:
    """The longest replies a person can get: every country's full list, the guides list."""
    chat.tap(f"language.set|lang={lang}")
    replies = {
        country: chat.tap(f"hotline.lookup|country={country}&purpose=all")
        for country in ("TH", "MY", "KH", "BD", "MM")
    }
    replies["guides"] = chat.tap("corridors.guide|list=yes")
    replies["gulf card"] = chat.tap("corridors.guide|card=bd_gulf")
    replies["scam card"] = chat.tap("corridors.guide|card=scam")
    return replies


def _check_messenger(channel: Messenger, reply: Reply) -> None:
    pieces = channel.fit(reply)
    assert "\n".join(p.text for p in pieces).count("\n") >= reply.text.count("\n") - len(pieces)
    sent_buttons = [b for p in pieces for b in p.buttons]
    assert sorted(sent_buttons, key=str) == sorted(reply.buttons, key=str)
    for piece in pieces:
        body = channel.render("U", piece)["message"]
        template = body.get("attachment", {}).get("payload")
        if template:
            assert grapheme_len(template["text"]) <= 640 and len(template["text"]) <= 640
            assert len(template["buttons"]) <= 3
        else:
            assert len(body["text"]) <= 2000
        for button in piece.buttons:  # the number is in the same message as its button
            digits = regex.sub(r"\D", "", button.title)
            assert digits in regex.sub(r"\D", "", piece.text), (button, piece.text)
        quick = body.get("quick_replies", [])
        assert len(quick) <= 13 and all(grapheme_len(q["title"]) <= 20 for q in quick)
        assert len(piece.choices) <= 13, "choices beyond 13 would be lost on Messenger"


def _check_viber(channel: Viber, reply: Reply) -> None:
    for piece in channel.fit(reply):
        body = channel.render("V", piece)
        assert len(body["text"]) <= 7000
        assert len(body.get("keyboard", {}).get("Buttons", [])) <= 24


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_longest_lists_fit_both_platforms(chat: Chat, seeded: Database, lang: str) -> None:
    _long_cambodia(seeded)
    lists = _lists(chat, lang)
    kh = "\n".join(r.text for r in lists["KH"])
    assert len(kh) > 640, "the Cambodia list must be long enough to need splitting"
    for name, replies in lists.items():
        assert replies, name
        for reply in replies:
            _check_messenger(messenger(), reply)
            _check_viber(viber(), reply)


def test_a_long_list_keeps_its_lines_and_buttons_in_khmer(chat: Chat, seeded: Database) -> None:
    _long_cambodia(seeded)
    chat.tap("language.set|lang=km")
    (reply,) = [r for r in chat.tap("hotline.lookup|country=KH&purpose=all") if r.buttons]
    pieces = messenger().fit(reply)
    assert len(pieces) > 1
    # Every entry starts its own line with its number; no entry is cut across two messages.
    for piece in pieces:
        for entry in piece.text.split("\n\n"):
            if entry.startswith("📞"):
                assert entry.count("\n") == reply.text.split("📞", 1)[1].split("\n\n")[0].count(
                    "\n"
                )
    assert pieces[-1].choices == reply.choices and not any(p.choices for p in pieces[:-1])
