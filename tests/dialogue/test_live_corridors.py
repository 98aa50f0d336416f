"""Corridor features end to end: signed webhooks, the real Rasa server, flows and the fake
platform API. "Is this fee normal?" typed as people type it, and a job ad pasted after
"Check a job ad", in every language."""

from __future__ import annotations

import pytest

from bot.dialogue.i18n import Translator
from tests.dialogue.test_live_conversations import live  # noqa: F401  (the fixture)
from tests.fixtures.bot import RunningBot, reply_payloads, reply_text

# (language, channel, the question, what the answer must contain)
FEES = [
    ("en", "messenger", "agent want 5 lakh taka for saudi visa is this fee normal", "is 3 times"),
    ("bn", "viber", "সৌদি যেতে দালাল ৫ লাখ টাকা চাইছে এটা কি ঠিক আছে", "৩ গুণ"),
    ("my", "messenger", "ထိုင်းသွားဖို့ ပွဲစားခ ၅ သိန်း ပေးရမှာ ပုံမှန်လား", "၅၀၀,၀၀၀"),
    ("km", "viber", "ទៅធ្វើការថៃ មេខ្យល់យកថ្លៃ ៣ពាន់ដុល្លារ ធម្មតាទេ", "៣,០០០"),
]
JOB_ADS = [
    ("en", "messenger", "URGENT customer service job in Thailand salary 2000$ no experience "
     "free ticket contact telegram only @hr_jobs_th", "telegram_only"),
    ("bn", "viber", "থাইল্যান্ডে অনলাইন জব টাইপিং, বেতন ২০০০ ডলার, অভিজ্ঞতা লাগবে না, "
     "টেলিগ্রামে যোগাযোগ করুন", "scam_compound"),
    ("my", "messenger", "ထိုင်းမှာ အွန်လိုင်းအလုပ် လစာကောင်း အတွေ့အကြုံမလို "
     "တယ်လီဂရမ်ကနေဆက်သွယ်ပါ", "scam_compound"),
    ("km", "viber", "ការងារវាយអក្សរ ប្រាក់ខែខ្ពស់ ១៥០០ដុល្លារ មិនត្រូវការបទពិសោធន៍ "
     "ទាក់ទងតាមតេឡេក្រាម", "telegram_only"),
]  # fmt: skip


def _texts(bodies: list[dict]) -> str:
    return "\n".join(reply_text(b) for b in bodies)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_fee_and_job_ad_in_every_language(live: RunningBot, t: Translator) -> None:  # noqa: F811
    for lang, channel, question, expected in FEES:
        user = f"fee-{lang}"
        live.tap(user, f"start.privacy|lang={lang}", channel)
        answer = _texts(live.say(user, question, channel))
        assert expected in answer, (lang, answer)

    for lang, channel, ad, flag in JOB_ADS:
        user = f"job-{lang}"
        live.tap(user, f"start.privacy|lang={lang}", channel)
        asked = live.tap(user, "tips.menu", channel)
        assert "corridors.job_ask" in [p for b in asked for p in reply_payloads(b)]
        assert _texts(live.tap(user, "corridors.job_ask", channel)) == t("corridor.job.paste", lang)
        answer = _texts(live.say(user, ad, channel))
        assert t(f"corridor.flag.{flag}", lang) in answer, (lang, answer)
        assert t("corridor.job.what_to_do", lang) in answer
