"""Red flags in realistic job ads, in all four languages (pasted as people paste them)."""

from __future__ import annotations

import pytest

from bot.corridors.data import JobFlags
from bot.corridors.job_offer import red_flags

ADS = [
    (
        "en",
        "URGENT!! customer service job in Thailand 🇹🇭 salary 1500-3000$ no experience needed, "
        "free ticket. contact only telegram @hr_jobs_th",
        {"scam_compound", "high_pay", "no_experience_high_pay", "telegram_only"},
    ),
    (
        "en",
        "Malaysia factory job pay 2000 ringgit. agent will keep your passport for safety. "
        "send fee to my bkash 017xxxxxxx. tourist visa ok no contract needed",
        {"passport_kept", "tourist_visa", "personal_account", "no_contract"},
    ),
    (
        "en",
        "Japan job!! go via Bangkok first then to Japan, pay 500000 yen a month",
        {"third_country", "high_pay"},
    ),
    (
        "my",
        "ထိုင်းမှာ အွန်လိုင်းအလုပ် လစာကောင်း အတွေ့အကြုံမလို တယ်လီဂရမ်ကနေဆက်သွယ်ပါ မြဝတီ",
        {"scam_compound", "no_experience_high_pay", "telegram_only"},
    ),
    (
        "my",
        "မလေးရှား စက်ရုံအလုပ် ခရီးသွားဗီဇာနဲ့သွားမယ် ဘန်ကောက်ကနေ ဖြတ်မယ် "
        "ပတ်စ်ပို့ကို အေးဂျင့်က သိမ်းထားမယ် စာချုပ်မလို",
        {"tourist_visa", "third_country", "passport_kept", "no_contract"},
    ),
    (
        "km",
        "ការងារវាយអក្សរ ប្រាក់ខែខ្ពស់ ១៥០០ដុល្លារ មិនត្រូវការបទពិសោធន៍ ទាក់ទងតាមតេឡេក្រាម",
        {"scam_compound", "high_pay", "no_experience_high_pay", "telegram_only"},
    ),
    (
        "km",
        "ទៅធ្វើការថៃ ប្រើទិដ្ឋាការទេសចរណ៍ ប៉ាស្ព័រត្រូវទុកនៅក្រុមហ៊ុន គ្មានកិច្ចសន្យា "
        "ផ្ញើលុយចូលគណនីខ្ញុំ",
        {"tourist_visa", "passport_kept", "no_contract", "personal_account"},
    ),
    (
        "bn",
        "সৌদি আরবে ক্লিনার ভিসা, বেতন ভালো, অভিজ্ঞতা লাগবে না, টাকা বিকাশে পাঠান, "
        "পাসপোর্ট অফিসে জমা রাখতে হবে, ভিজিট ভিসায় যাবেন দুবাই হয়ে",
        {"no_experience_high_pay", "personal_account", "passport_kept", "tourist_visa",
         "third_country"},
    ),
    (
        "bn",
        "থাইল্যান্ডে অনলাইন জব টাইপিং, বেতন ২০০০ ডলার, চুক্তি লাগবে না, টেলিগ্রামে যোগাযোগ",
        {"scam_compound", "high_pay", "no_contract", "telegram_only"},
    ),
]  # fmt: skip


@pytest.mark.parametrize(("lang", "ad", "expected"), ADS, ids=[a[0] for a in ADS])
def test_finds_the_red_flags(lang: str, ad: str, expected: set[str]) -> None:
    assert set(red_flags(ad)) == expected


@pytest.mark.parametrize(
    "ad",
    [
        "Factory worker Samut Sakhon. MOU via licensed agency, written contract, 370 baht a day",
        "စက်ရုံအလုပ် MOU နဲ့ လိုင်စင်ရအေဂျင်စီ စာချုပ်ပါ",
        "ការងាររោងចក្រនៅថៃ តាម MOU មានកិច្ចសន្យា",
        "মালয়েশিয়া ফ্যাক্টরি কাজ, লিখিত চুক্তি, সরকারি খরচ ৭৮৯৯০ টাকা, রসিদ দেওয়া হবে",
    ],
)
def test_an_ordinary_offer_raises_nothing(ad: str) -> None:
    assert red_flags(ad) == []


def test_most_dangerous_first() -> None:
    flags = red_flags("typing job myawaddy, high salary, telegram only, we keep your passport")
    assert flags[:2] == ["scam_compound", "passport_kept"]


def test_patterns_are_validated_per_language() -> None:
    with pytest.raises(ValueError, match="no patterns for"):
        JobFlags.model_validate({"high_pay": {}, "flags": {"x": {"en": ["a"]}}})
    with pytest.raises(ValueError, match="signal x"):
        JobFlags.model_validate(
            {"high_pay": {}, "flags": {"x": {lang: ["(open"] for lang in ("en", "my", "km", "bn")}}}
        )
