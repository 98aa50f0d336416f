"""A person in danger names the country they are in: the FIRST reply carries phone numbers.

End to end: signed Messenger webhooks, the real Rasa server (the country is recognized by the
trained model, no hand-built parses), the flows, the outbox and the fake Graph API. Each
person writes first, before choosing a language, the way someone in trouble does.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import regex

from bot.services.seed import seed_if_empty
from tests.fixtures.bot import BotFactory, RunningBot, reply_text

# (language, country, message, the destination's emergency number)
CASES = [
    ("en", "SA", "help me im in saudi my madam beat me and lock the door", "911"),
    ("en", "QA", "please help in qatar boss took my passport not let me go out", "999"),
    ("en", "KW", "kuwait employer lock me in the house no food help", "112"),
    ("en", "AE", "im in uae they hit me and keep my passport help", "999"),
    ("en", "SG", "help singapore agent keep my passport and threaten me", "999"),
    ("en", "JP", "help im in japan company lock us in dorm cannot leave", "110"),
    ("en", "KR", "korea boss hit me and take my passport pls help", "112"),
    ("bn", "SA", "সৌদি আরবে মালিক আমাকে মারধর করে ঘরে আটকে রেখেছে বাঁচান", "911"),
    ("bn", "QA", "কাতারে কোম্পানি পাসপোর্ট নিয়ে নিছে আমাকে আটকে রাখছে সাহায্য করেন", "999"),
    ("bn", "KW", "কুয়েতে আমাকে ঘরে আটকে রাখছে খাবার দেয় না বাঁচাও", "112"),
    ("bn", "AE", "আমিরাতে মালিক মারধর করে পাসপোর্ট রেখে দিছে সাহায্য চাই", "999"),
    ("bn", "SG", "সিঙ্গাপুরে দালাল পাসপোর্ট নিয়ে গেছে ভয় দেখাচ্ছে সাহায্য করুন", "999"),
    ("bn", "JP", "জাপানে কোম্পানি আমাদের আটকে রেখেছে বের হতে দেয় না সাহায্য", "110"),
    ("bn", "KR", "কোরিয়াতে মালিক মারে পাসপোর্ট নিয়ে গেছে সাহায্য করুন", "112"),
    ("my", "TH", "ကယ်ပါ ထိုင်းမှာ အလုပ်ရှင်က ပိတ်ထားတယ် ပတ်စ်ပို့ ယူထားတယ်", "191"),
    ("my", "MY", "မလေးရှားမှာ သူဌေးက ရိုက်တယ် အပြင်မထွက်ခိုင်းဘူး ကယ်ပါ", "999"),
    ("km", "TH", "ជួយខ្ញុំផង នៅថៃ ថៅកែចាក់សោខ្ញុំក្នុងផ្ទះ យកលិខិតឆ្លងដែន", "191"),
    ("km", "MY", "ជួយផង នៅម៉ាឡេស៊ី ថៅកែវាយខ្ញុំ មិនឲ្យចេញពីផ្ទះ", "999"),
]
# A number worth calling in each corridor's first reply beyond the police.
WORKER_LINE = {("my", "TH"): "1694", ("km", "TH"): "1694", ("bn", "SA"): "800 100 125"}
PHONE = regex.compile(r"\d[\d -]{1,14}\d")


@pytest.fixture
def live(make_bot: BotFactory, rasa_server: str) -> Iterator[RunningBot]:
    """The app with the real NLU server (a generous timeout: no keyword fallback here)."""
    with make_bot(RASA_URL=rasa_server, NLU_TIMEOUT_SECONDS=30.0) as running:
        with running.db.session() as session:
            seed_if_empty(session)
        yield running


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("lang", "country", "message", "emergency"), CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES]
)
def test_first_reply_to_a_person_in_danger_has_a_number(
    live: RunningBot, lang: str, country: str, message: str, emergency: str
) -> None:
    replies = live.say(f"danger-{lang}-{country}", message)
    first = reply_text(replies[0])
    assert PHONE.search(first), first
    assert emergency in first, first
    if (lang, country) in WORKER_LINE:
        assert WORKER_LINE[(lang, country)] in first, first
    if lang == "bn":
        assert "+880 9610 102030" in first, "Probash Bandhu, the home line from abroad"
