"""The urgent-help safety net: recall on the held-out files, robustness, few false alarms,
indicators, and no alarm on questions, negations or topic words said of someone else."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.understanding.evaluation import load_examples
from bot.understanding.normalize import normalize
from bot.understanding.safety_net import Alarm, _Text, default_safety_net
from bot.vocabulary import Indicator, Risk

TESTS = Path(__file__).resolve().parents[2] / "nlu" / "tests"
HELDOUT = TESTS / "heldout.jsonl"
DISTRESS = TESTS / "distress_heldout.jsonl"


def alarm(text: str) -> Alarm | None:
    return default_safety_net().alarm(normalize(text).text)


def flagged(text: str) -> bool:
    """Whether the floor catches the message (urgent, or a concern such as documents kept)."""
    return alarm(text) is not None


def test_recall_on_heldout_urgent_lines_all_languages_and_zawgyi() -> None:
    urgent = [e for e in load_examples(HELDOUT) if e.intent == "urgent_help"]
    assert {e.lang for e in urgent} == {"en", "my", "km", "bn"}
    assert any(e.variant == "zawgyi" for e in urgent)
    missed = [e.text for e in urgent if not flagged(e.text)]
    assert len(missed) / len(urgent) <= 0.02, missed


def test_false_alarms_on_heldout_stay_rare() -> None:
    calm = [e for e in load_examples(HELDOUT) if e.intent != "urgent_help"]
    alarms = [e.text for e in calm if flagged(e.text)]
    assert len(alarms) / len(calm) <= 0.02, alarms


@pytest.mark.parametrize(
    "text",
    [
        "my boss took my passport",
        "MY BOSS TOOK MY PASSPORT!!!",
        "boss kept my pasport and i cant go",
        "they forsed me to work",  # misspelt
        "i was soldd to another employer, i want to escape",
        "ပတ်စပို့ကို ယူ ထား တယ်",  # spaced out
        "ကျွန်မကိုအလုပ်ရှင်ကအိမ်ထဲမှာပိတ်ထားတယ်",
        "ကြၽန္မကိုအလုပ္ရွင္ကအိမ္ထဲမွာပိတ္ထားတယ္",  # Zawgyi
        "ថៅកែយកលិខិតឆ្លងដែនខ្ញុំ",
        "ថៅកែ យក លិខិត ឆ្លង ដែន ខ្ញុំ",
        "মালিক পাসপোর্ট নিয়ে নিয়েছে",
        "আমাকে ঘরে আটকে রেখেছে",
        "malik passport niye nise",
        "amake bachan",
    ],
)
def test_urgent_messages_are_flagged(text: str) -> None:
    assert flagged(text)


@pytest.mark.parametrize(
    "text",
    [
        "help",
        "menu",
        "how do i get a passport",
        "should i keep a copy of my passport",
        "helpline number please",
        "আমারে একটা নম্বর দেন",  # মারে ("beats") inside আমারে ("to me")
        "ပတ်စပို့ မိတ္တူ သိမ်းထားသင့်လား",
        "စာချုပ်ထားတယ်",
        "លេខទូរស័ព្ទបន្ទាន់",
    ],
)
def test_ordinary_messages_are_not_flagged(text: str) -> None:
    assert not flagged(text)


def test_no_alarm_on_the_informational_distress_lines() -> None:
    calm = [e for e in load_examples(DISTRESS) if e.level is Risk.NONE]
    assert len(calm) >= 60
    assert [e.text for e in calm if flagged(e.text)] == []


@pytest.mark.parametrize(
    "text",
    [
        "what is trafficking",
        "how to avoid trafficking when i go to thailand",
        "is it legal the agency keep my passport before i leave",
        "ok so like wat",
        "they dont beat me, boss is kind",
        "my boss never hit me",
        "i can go home tomorrow",  # not a typo of "cant go home"
        "ထိုင်းမှာ ၁၅ နှစ်ကြာပြီ",  # years counted, not an age
        "ធ្វើការនៅម៉ាឡេស៊ី១៥ឆ្នាំហើយ",
        "১৫ বছর ধরে সৌদিতে আছি",
        "we can leave the hostel on sunday",
        "trafficking is a big problem in the region",  # nobody in a trafficking situation
        "လူကုန်ကူးမှု ဆိုတာ ဘာလဲ",
        "ကျွန်မကို မရိုက်ဘူး",
        "ការជួញដូរមនុស្សគឺជាអ្វី",
        "គេមិនវាយខ្ញុំទេ",
        "মানব পাচার কি",
        "মালিক মারে না",
        "amake mare na",
    ],
)
def test_questions_negations_and_other_peoples_topics_do_not_fire(text: str) -> None:
    assert alarm(text) is None


@pytest.mark.parametrize(
    ("text", "indicator"),
    [
        ("the boss beats me", Indicator.VIOLENCE),
        ("i was trafficked to this farm", None),
        ("they locked me in the room", Indicator.RESTRICTION_OF_MOVEMENT),
        ("ကျွန်မရိုက်ခံရတယ်", Indicator.VIOLENCE),  # ကျွန်မ "I" is not the negation မ
        ("ခြိမ်းခြောက်တယ်", Indicator.INTIMIDATION),
        ("គេវាយខ្ញុំ", Indicator.VIOLENCE),
        ("মালিক মারে", Indicator.VIOLENCE),
        ("dalal amake bikri kore dise", Indicator.ABUSE_OF_VULNERABILITY),
        ("im 16 and the agent take me to thailand", Indicator.MINOR),
        ("ခ်ဳပ္ အသက္ ၁၅ ႏွစ္", Indicator.MINOR),  # Zawgyi, Burmese digits
        ("ខ្ញុំអាយុ១៥ ធ្វើការរោងចក្រ", Indicator.MINOR),
        ("আমার বয়স ১৬", Indicator.MINOR),
        ("they force me to scam people", Indicator.FORCED_CRIMINALITY),
        # An age without the word "age": a child at work, whoever writes.
        ("ညီမလေး ၁၄ နှစ် စက်ရုံမှာ လုပ်နေရတယ်", Indicator.MINOR),
        ("ប្អូនប្រុស១៦ឆ្នាំ ធ្វើការលើទូក", Indicator.MINOR),
        ("বোনটা ১৫ বছরের বাসার কাজ করে", Indicator.MINOR),
        ("beton 4 mash dey nai kafil bole desh e jaite dibe na", Indicator.RESTRICTION_OF_MOVEMENT),
        ("কফিল বলে দেশে যাইতে দিবে না", Indicator.RESTRICTION_OF_MOVEMENT),
        ("មេការធាក់ខ្ញុំ ហើយទះកំផ្លៀង", Indicator.VIOLENCE),
        # A question does not hide danger told of oneself.
        ("they beat me what is the police number", Indicator.VIOLENCE),
        ("what is the number they locked me in", Indicator.RESTRICTION_OF_MOVEMENT),
        ("boss hit me is it legal", Indicator.VIOLENCE),
        ("মালিক আমাকে মারে এটা কি আইনে আছে", Indicator.VIOLENCE),
    ],
)
def test_situations_are_urgent_with_their_indicator(text: str, indicator: Indicator | None) -> None:
    found = alarm(text)
    assert found is not None and found.risk is Risk.URGENT
    if indicator is not None:
        assert indicator in found.indicators


def test_documents_kept_alone_is_a_concern_taken_away_urgent() -> None:
    for text in ("my boss took my passport", "malik passport niye nise", "ថៅកែយកលិខិតឆ្លងដែនខ្ញុំ"):
        found = alarm(text)
        assert found is not None and found.risk is Risk.URGENT
        assert found.indicators == (Indicator.DOCUMENT_RETENTION,)
    for text in ("the company keeps my passport", "malik passport rekhe dise"):
        found = alarm(text)
        assert found is not None
        assert (found.risk, found.indicators) == (Risk.CONCERN, (Indicator.DOCUMENT_RETENTION,))
    both = alarm("boss took my passport and locked the door")
    assert both is not None and both.risk is Risk.URGENT
    assert set(both.indicators) == {
        Indicator.DOCUMENT_RETENTION,
        Indicator.RESTRICTION_OF_MOVEMENT,
    }


# Concerns: signs of forced labour without danger now. Lines are written in the style migrants
# type (misspelt, no punctuation, words between the ones a rule pairs), not copied from the
# phrase lists, so they show the lists generalize.
WAGES, HOURS, ISOLATED, DEBT, CONDITIONS = (
    Indicator.WAGE_WITHHOLDING,
    Indicator.EXCESSIVE_OVERTIME,
    Indicator.ISOLATION,
    Indicator.DEBT_BONDAGE,
    Indicator.ABUSIVE_CONDITIONS,
)
CONCERNS = {
    "en": [
        ("boss not pay salary 3 month", WAGES),
        ("they cut 2000 baht from my salery every month for the room", WAGES),
        ("i do ot every night but ot no pay", WAGES),
        ("we work 16hrs a day", HOURS),
        ("no day off for 3 months already", HOURS),
        ("working all night and again in the morning", HOURS),
        ("boss took my phone last week", ISOLATED),
        ("they dont let us call our family", ISOLATED),
        ("i cant quit until my debt is paid", DEBT),
        ("my debt keeps growing every month", DEBT),
        ("i owe the agent 3000 dollar", DEBT),
        ("no food since yesterday", CONDITIONS),
        ("we sleep on the floor in the kitchen", CONDITIONS),
        ("i have fever but still have to work", CONDITIONS),
    ],
    "my": [
        ("သူဌေးက လစာ ၃ လ မပေးသေးဘူး", WAGES),
        ("လစာထဲက ထမင်းဖိုး ဖြတ်တယ်", WAGES),
        ("OT ဆင်းတာ ပိုက်ဆံ မပေးဘူး", WAGES),
        ("တစ်နေ့ ၁၆ နာရီ အလုပ်လုပ်ရတယ်", HOURS),
        ("ပိတ်ရက် လုံးဝ မရှိဘူး", HOURS),
        ("ဖုန်း သိမ်းထားတယ်", ISOLATED),
        ("အိမ်ကို ဖုန်းဆက်ခွင့်မပေးဘူး", ISOLATED),
        ("ကြွေးတွေ တိုးလာတယ်", DEBT),
        ("ကြွေးဆပ်ပြီးမှ အိမ်ပြန်ရမယ်", DEBT),
        ("ထမင်း မဝဘူး", CONDITIONS),
        ("ကြမ်းပြင်ပေါ်မှာ အိပ်ရတယ်", CONDITIONS),
        ("နေမကောင်းလည်း အလုပ်ဆင်းရတယ်", CONDITIONS),
    ],
    "km": [
        ("ថៅកែមិនទាន់បើកប្រាក់ខែ 3 ខែហើយ", WAGES),
        ("គេកាត់ថ្លៃបាយពីប្រាក់ខែខ្ញុំ", WAGES),
        ("ធ្វើថែមម៉ោងតែអត់បើកលុយ", WAGES),
        ("ខ្ញុំធ្វើការ ១៦ ម៉ោង ក្នុងមួយថ្ងៃ", HOURS),
        ("អត់មានថ្ងៃឈប់សម្រាកទេ ពីរខែហើយ", HOURS),
        ("ថៅកែដកហូតទូរស័ព្ទខ្ញុំ", ISOLATED),
        ("គេមិនឲ្យទាក់ទងក្រុមគ្រួសារទេ", ISOLATED),
        ("ត្រូវសងបំណុលរួចសិន ទើបអាចទៅផ្ទះ", DEBT),
        ("ខ្ញុំជំពាក់មេខ្យល់ 2000 ដុល្លារ", DEBT),
        ("អត់មានបាយហូបគ្រប់គ្រាន់", CONDITIONS),
        ("យើងគេងលើឥដ្ឋ", CONDITIONS),
        ("ឈឺក៏ត្រូវធ្វើការដែរ", CONDITIONS),
    ],
    "bn": [
        ("মালিক তিন মাস ধরে বেতন দিচ্ছে না", WAGES),
        ("আমার বেতন থেকে খাবারের টাকা কেটে নেয়", WAGES),
        ("প্রতিদিন ১৬ ঘণ্টা কাজ করায়", HOURS),
        ("এক মাস ধরে কোন ছুটি নাই", HOURS),
        ("আমার মোবাইল কেড়ে নিয়েছে", ISOLATED),
        ("বাড়িতে কথা বলতে দেয় না", ISOLATED),
        ("দালালের ঋণ শোধ না করলে যেতে দিবে না", DEBT),
        ("ঋণ শুধু বাড়ছে আর বাড়ছে", DEBT),
        ("আমরা মেঝেতে ঘুমাই", CONDITIONS),
        ("জ্বর হলেও কাজ করতে হয়", CONDITIONS),
    ],
    "banglish": [
        ("malik 3 mash dhore beton dicchena", WAGES),
        ("amar betn pai nai 2 mash", WAGES),
        ("protidin 16 ghonta kaj koray", HOURS),
        ("ek mash dhore kono chuti nai", HOURS),
        ("amar phone malik niye nise", ISOLATED),
        ("barite kotha bolte dey na", ISOLATED),
        ("dalal er kache amar 2 lakh taka rin ache", DEBT),
        ("rin bartese protimash", DEBT),
        ("amader khabar dey na thik moto", CONDITIONS),
        ("jor holeo kaj korte hoy", CONDITIONS),
    ],
}
CALM = {
    "en": [
        "i got my salary today",
        "my boss pays on time",
        "we work 8 hours",
        "i have a day off on friday",
        "i am bored",
        "i will call my mom on my phone",
        "is it legal to cut salary",
        "what is debt bondage",
        "how many hours is legal",
        "i keep my salary in the bank",
        "i work 5 days a week",
    ],
    "my": [
        "ဒီနေ့ လစာရပြီ",
        "သူဌေးက လစာ အချိန်မှန် ပေးတယ်",
        "တစ်နေ့ ၈ နာရီ အလုပ်လုပ်တယ်",
        "သောကြာနေ့ ပိတ်ရက်ရှိတယ်",
        "ပျင်းတယ်",
        "အမေ့ကို ဖုန်းဆက်မယ်",
        "လစာဖြတ်တာ တရားဝင်လား",
        "ကြွေးကျွန် ဆိုတာ ဘာလဲ",
        "တစ်နေ့ ဘယ်နှစ်နာရီ အလုပ်လုပ်ရမလဲ",
        "ပိုက်ဆံ မရှိဘူး",
    ],
    "km": [
        "ថ្ងៃនេះខ្ញុំបានប្រាក់ខែហើយ",
        "ថៅកែបើកប្រាក់ខែទាន់ពេល",
        "យើងធ្វើការ 8 ម៉ោង",
        "ខ្ញុំឈប់សម្រាកថ្ងៃសុក្រ",
        "ខ្ញុំធុញណាស់",
        "ខ្ញុំនឹងតេទៅម្តាយតាមទូរស័ព្ទ",
        "តើថៅកែអាចកាត់ប្រាក់ខែបានទេ",
        "ការជាប់បំណុលគឺជាអ្វី",
        "ធ្វើការប៉ុន្មានម៉ោងក្នុងមួយថ្ងៃតាមច្បាប់",
        "ខ្ញុំទៅដកលុយ",
    ],
    "bn": [
        "আজ বেতন পেয়েছি",
        "মালিক সময়মতো বেতন দেয়",
        "আমরা ৮ ঘণ্টা কাজ করি",
        "শুক্রবার আমার ছুটি",
        "আমি বোর হচ্ছি",
        "আমি ফোনে মায়ের সাথে কথা বলবো",
        "বেতন কাটা কি বৈধ",
        "ঋণ দাসত্ব মানে কি",
        "কত ঘণ্টা কাজ করা আইনে বৈধ",
    ],
    "banglish": [
        "aj beton paisi",
        "malik time moto beton dey",
        "amra 8 ghonta kaj kori",
        "shukrobar amar chuti",
        "ami bore hocchi",
        "ami phone e ammur sathe kotha bolbo",
        "beton kata ki boidho",
        "rin dasotto mane ki",
        "koto ghonta kaj kora legal",
    ],
}


@pytest.mark.parametrize(
    ("text", "indicator"),
    [
        pytest.param(t, i, id=f"{lang}-{n}")
        for lang, cases in CONCERNS.items()
        for n, (t, i) in enumerate(cases)
    ],
)
def test_concerns_are_flagged_with_their_indicator(text: str, indicator: Indicator) -> None:
    found = alarm(text)
    assert found is not None, text
    assert (found.risk, indicator in found.indicators) == (Risk.CONCERN, True), found


def test_every_language_has_two_lines_per_concern_indicator() -> None:
    for lang, cases in CONCERNS.items():
        for indicator in (WAGES, HOURS, ISOLATED, DEBT, CONDITIONS):
            assert sum(i is indicator for _, i in cases) >= 2, (lang, indicator)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(t, id=f"{lang}-{n}")
        for lang, lines in CALM.items()
        for n, t in enumerate(lines)
    ],
)
def test_calm_lines_and_questions_about_concerns_do_not_fire(text: str) -> None:
    assert alarm(text) is None


@pytest.mark.parametrize(
    "text",
    [
        "not paid and they lock us in",
        "no salary 2 month and boss beat me",
        "လစာမပေးဘူး ပြီးတော့ အိမ်ထဲ ပိတ်ထားတယ်",
        "ប្រាក់ខែមិនបើក ហើយគេចាក់សោខ្ញុំ",
        "বেতন দেয় না আর আটকে রেখেছে",
        "beton dey na malik mare",
    ],
)
def test_urgent_signals_win_over_concerns(text: str) -> None:
    found = alarm(text)
    assert found is not None and found.risk is Risk.URGENT
    assert Indicator.WAGE_WITHHOLDING in found.indicators


def test_the_screens_let_every_phrase_of_the_data_through() -> None:
    """The screens skip signals whose phrases cannot occur in a text: each phrase and rule
    word of every language, inside a sentence, must pass its lexicon's, its signal's and its
    rule group's screen (else that phrase could never fire again)."""
    checked = 0
    for lexicon in default_safety_net().lexicons:
        for signal in lexicon.signals:
            groups = [(rule.screens[i], group) for rule in signal.all_of
                      for i, group in enumerate(rule.groups)]  # fmt: skip
            for screen, phrases in [(signal.phrase_screen, signal.phrases), *groups]:
                for phrase in phrases:
                    text = _Text.of(f"so {phrase.text} now")
                    assert lexicon.screens["signals"].passes(text), phrase.text
                    assert signal.screen.passes(text) and screen.passes(text), phrase.text
                    checked += 1
        for name in ("informational", "first_person"):
            for cue in getattr(lexicon, name):
                assert lexicon.screens[name].passes(_Text.of(f"so {cue.text} now")), cue.text
    assert checked > 2000


@pytest.mark.parametrize(
    ("text", "passes"),
    [
        ("they took my pasport", True),  # a fuzzy phrase may match a Latin text this long
        ("ok", False),  # too short for any fuzzy phrase, and no phrase in it
        ("အခန်းထဲ ပိတ်ထားတယ်", True),
        ("မင်္ဂလာပါ", False),
    ],
)
def test_a_screen_passes_only_texts_a_phrase_could_match(text: str, passes: bool) -> None:
    screens = [lexicon.screens["signals"] for lexicon in default_safety_net().lexicons]
    assert any(s.passes(_Text.of(normalize(text).text)) for s in screens) is passes
