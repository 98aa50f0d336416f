"""What each channel sends: limits, grapheme-safe titles, splitting, tags."""

from __future__ import annotations

import pytest

from bot.channels.messenger import Messenger
from bot.channels.text import grapheme_len, split, truncate
from bot.channels.viber import PAYLOAD_PREFIX, Viber
from bot.messages import Button, Choice, Reply
from tests.channels.test_handlers import messenger, viber

BURMESE = "အလုပ်ရှင်ကနိုင်ငံကူးလက်မှတ်ကိုသိမ်းထားတယ်"
KHMER = "ខ្ញុំចង់ដឹងអំពីភ្នាក់ងារជ្រើសរើសពលករ"
BENGALI = "রিক্রুটিং এজেন্সির লাইসেন্স যাচাই করুন"


@pytest.mark.parametrize("text", [BURMESE, KHMER, BENGALI])
def test_truncate_never_breaks_a_cluster(text: str) -> None:
    cut = truncate(text, 20)
    assert grapheme_len(cut) <= 20
    body = cut.removesuffix("…")
    assert text.startswith(body)
    # The next character of the original is never a combining mark orphaned by the cut.
    assert grapheme_len(body) + grapheme_len(text[len(body) :]) == grapheme_len(text)


def test_truncate_leaves_short_titles_alone() -> None:
    assert truncate("English", 20) == "English"
    assert truncate("မြန်မာ", 20) == "မြန်မာ"


def test_split_at_sentence_ends_in_every_script() -> None:
    text = "။ ".join([BURMESE] * 30) + "။"
    pieces = split(text, 200)
    assert all(len(p) <= 200 for p in pieces)
    assert all(p.endswith("။") for p in pieces)
    assert " ".join(pieces) == text


def test_split_handles_a_sentence_longer_than_the_limit() -> None:
    text = "word " * 1000
    pieces = split(text.strip(), 2000)
    assert all(len(p) <= 2000 for p in pieces) and len(pieces) == 3
    blob = KHMER * 200  # no spaces at all: cut on grapheme boundaries
    pieces = split(blob, 500)
    assert "".join(pieces) == blob and all(len(p) <= 500 for p in pieces)


def test_messenger_quick_replies_capped_and_titles_cut() -> None:
    reply = Reply("Pick one", choices=tuple(Choice(BURMESE + str(i), f"P{i}") for i in range(20)))
    body = messenger().render("U", reply)
    quick = body["message"]["quick_replies"]
    assert len(quick) == 13
    assert all(grapheme_len(q["title"]) <= 20 for q in quick)
    assert quick[0]["payload"] == "P0" and body["messaging_type"] == "RESPONSE"


def test_messenger_buttons_become_a_template_of_three() -> None:
    buttons = (
        Button("Call 1300", "call", "1300"),  # a short code cannot be dialled by the Send API
        Button("Call hotline", "call", "+66991301300"),
        Button("Website", "url", "https://example.org"),
        Button("Menu", "postback", "MENU"),
        Button("More", "postback", "MORE"),
    )
    body = Messenger.render(messenger(), "U", Reply("Numbers", buttons=buttons))
    template = body["message"]["attachment"]["payload"]
    assert template["template_type"] == "button" and template["text"] == "Numbers"
    assert [b["type"] for b in template["buttons"]] == ["phone_number", "web_url", "postback"]
    assert template["buttons"][0]["payload"] == "+66991301300"


def test_messenger_human_agent_tag() -> None:
    body = messenger().render("U", Reply("hi"), tag="HUMAN_AGENT")
    assert body["messaging_type"] == "MESSAGE_TAG" and body["tag"] == "HUMAN_AGENT"


def test_messenger_fit_splits_long_text_and_keeps_choices_last() -> None:
    reply = Reply(". ".join(["A sentence of some length"] * 150), choices=(Choice("OK", "OK"),))
    pieces = messenger().fit(reply)
    assert len(pieces) > 1 and all(len(p.text) <= 2000 for p in pieces)
    assert [bool(p.choices) for p in pieces] == [False] * (len(pieces) - 1) + [True]
    with_buttons = messenger().fit(Reply("x. " * 400, buttons=(Button("Menu", "postback", "M"),)))
    assert len(with_buttons[-1].text) <= 640


def test_viber_keyboard_carries_prefixed_payloads() -> None:
    body = viber().render("V", Reply("Choose", choices=(Choice(KHMER, "LANG:km"),)))
    button = body["keyboard"]["Buttons"][0]
    assert button["ActionType"] == "reply" and button["ActionBody"] == PAYLOAD_PREFIX + "LANG:km"
    assert grapheme_len(button["Text"]) <= 20 and button["Silent"] is True
    assert body["receiver"] == "V" and body["min_api_version"] >= 6
    assert "keyboard" not in Viber.render(viber(), "V", Reply("plain"))


def test_split_keeps_line_breaks_and_whole_entries() -> None:
    entries = [f"📞 0{i}2 345 678 — {KHMER}\n{BENGALI}" for i in range(12)]
    text = "\n\n".join(entries)
    pieces = split(text, 300)
    assert all(len(p) <= 300 for p in pieces) and len(pieces) > 1
    assert [e for p in pieces for e in p.split("\n\n")] == entries


def test_call_buttons_travel_with_their_numbers() -> None:
    entries = [f"📞 +855 23 99{i} 919 — {KHMER * 3}" for i in range(6)]
    buttons = tuple(Button(f"📞 +855 23 99{i} 919", "call", f"+8552399{i}919") for i in range(3))
    reply = Reply("\n\n".join(entries), buttons=buttons, choices=(Choice("Menu", "menu.main"),))
    pieces = messenger().fit(reply)
    assert len(pieces) > 1 and all(len(p.text) <= 640 for p in pieces)
    for button in buttons:
        (home,) = [p for p in pieces if button in p.buttons]
        assert button.title.removeprefix("📞 ") in home.text
    assert pieces[-1].choices and not pieces[0].choices


def test_viber_keyboard_capped_at_24() -> None:
    reply = Reply("Pick", choices=tuple(Choice(f"C{i}", f"P{i}") for i in range(30)))
    assert len(viber().render("V", reply)["keyboard"]["Buttons"]) == 24
