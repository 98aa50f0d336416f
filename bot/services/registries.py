"""Agency licence lists: lookup by licence number (any script, any spelling) or by name.

Lists are dated snapshots per country; every answer must say which list and how recent, and
whether it is sample data. Nothing here calls an agency "safe": a listing is only a listing.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import date

import regex
from rapidfuzz import fuzz, process
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.db.models import Agency

STATUSES = ("active", "suspended", "cancelled", "expired")
# Licence prefixes as people write them in their own script.
_PREFIX_TRANSLITERATIONS = {"আরএল": "RL", "আর এল": "RL"}
_LICENCE = regex.compile(r"(?<![A-Z0-9])([A-Z]{1,4})?[\s\-./#:]*(\d{1,7})(?![0-9])")
# Words every agency name shares, in our four languages: they make unrelated names look alike,
# so they carry no weight (a match on them alone is no match). Burmese and Khmer ones are also
# removed inside words, since those scripts do not separate words with spaces.
_NAME_NOISE = frozenset((
    "ltd", "limited", "co", "company", "pvt", "private", "plc", "inc", "corp", "corporation",
    "agency", "agencies", "agent", "agents", "the", "and", "sample", "overseas", "oversea",
    "manpower", "international", "intl", "recruiting", "recruitment", "recruiters", "recruiter",
    "services", "service", "employment", "enterprise", "enterprises",
    # Burmese: agency, company, limited, overseas, abroad, manpower, international, services,
    # employment
    "အေဂျင်စီ", "အေဂျင်စ", "ကုမ္ပဏီ", "လီမိတက်", "အိုဗာစီး", "ပြည်ပ", "မန်ပါဝါ",
    "အင်တာနေရှင်နယ်", "နိုင်ငံတကာ", "ဝန်ဆောင်မှု", "အလုပ်အကိုင်",
    # Khmer: agency, company, international, services, manpower, overseas, recruitment
    "ភ្នាក់ងារ", "ក្រុមហ៊ុន", "អន្តរជាតិ", "សេវាកម្ម", "ម៉ែនផៅវ័រ", "ម៉ែនផៅ", "អូវើស៊ី",
    "ជ្រើសរើស",
    # Bengali: overseas, manpower, international, recruiting, agency, services, limited, company
    "ওভারসিজ", "ওভারসীজ", "ম্যানপাওয়ার", "ইন্টারন্যাশনাল", "রিক্রুটিং", "এজেন্সি", "এজেন্সী",
    "সার্ভিসেস", "সার্ভিস", "লিমিটেড", "লিঃ", "কোম্পানি", "কোং",
))  # fmt: skip
_UNSPACED = regex.compile(r"[\u1000-\u109F\u1780-\u17FF]")  # Burmese, Khmer
_UNSPACED_NOISE = regex.compile(
    "|".join(
        regex.escape(w) for w in sorted(_NAME_NOISE, key=len, reverse=True) if _UNSPACED.search(w)
    )
)
_NOT_LETTERS = regex.compile(r"[\p{P}\p{S}\s]+")
MATCH_SCORE = 92.0
CANDIDATE_SCORE = 70.0
MAX_CANDIDATES = 3


@dataclass(frozen=True)
class Snapshot:
    """The list an answer is based on."""

    country: str
    source: str
    retrieved: date
    is_sample: bool


@dataclass
class Lookup:
    """`agency` for one clear match, `candidates` for "did you mean", neither when not found."""

    agency: Agency | None = None
    candidates: list[Agency] = field(default_factory=list)
    snapshot: Snapshot | None = None
    by_licence: bool = False


def ascii_digits(text: str) -> str:
    """Burmese, Khmer, Bengali, Thai (any Unicode decimal) digits to 0-9.

    Burmese writers often type the letter wa (ဝ) for zero; between digits it is a zero.
    """
    text = regex.sub(r"(?<=[\d])ဝ|ဝ(?=[\d])", "0", text)
    return "".join(
        str(unicodedata.decimal(ch)) if unicodedata.decimal(ch, None) is not None else ch
        for ch in text
    )


def licence_key(raw: str) -> str | None:
    """ "RL-0215", "rl 215", "RL0215", "আরএল ০২১৫" all become "RL215"; None if no number."""
    found = _find_licence(raw)
    return f"{found[0]}{int(found[1])}" if found else None


def _find_licence(raw: str) -> tuple[str, str] | None:
    text = ascii_digits(unicodedata.normalize("NFC", raw))
    for written, latin in _PREFIX_TRANSLITERATIONS.items():
        text = text.replace(written, latin)
    match = _LICENCE.search(text.upper())
    if not match:
        return None
    return match.group(1) or "", match.group(2)


def looks_like_licence(text: str) -> bool:
    """A query that carries a number of three or more digits is a licence-number query."""
    found = _find_licence(text)
    return found is not None and len(found[1]) >= 3


def effective_status(agency: Agency, today: date) -> str:
    """An "active" licence whose valid-until date has passed is expired, whatever the list says."""
    if agency.status == "active" and agency.valid_until and agency.valid_until < today:
        return "expired"
    return agency.status


def snapshot(session: Session, country: str | None) -> Snapshot | None:
    """The most recently retrieved list for a country (or any country)."""
    query = select(Agency.country, Agency.source, Agency.retrieved, Agency.is_sample)
    if country:
        query = query.where(Agency.country == country)
    row = session.execute(query.order_by(Agency.retrieved.desc()).limit(1)).first()
    return Snapshot(*row) if row else None


def countries_with_lists(session: Session) -> set[str]:
    return set(session.scalars(select(Agency.country).distinct()))


def lookup(session: Session, query: str, country: str | None = None) -> Lookup:
    """Search the user's country first (when known), then every list."""
    scopes = [country, None] if country else [None]
    for scope in scopes:
        result = _lookup_in(session, query, scope)
        if result.agency or result.candidates:
            return result
    return Lookup(snapshot=snapshot(session, country), by_licence=looks_like_licence(query))


def by_id(session: Session, agency_id: int) -> Lookup:
    agency = session.get(Agency, agency_id)
    if agency is None:
        return Lookup()
    return Lookup(agency=agency, snapshot=_snapshot_of(agency))


def _lookup_in(session: Session, query: str, country: str | None) -> Lookup:
    scoped = select(Agency)
    if country:
        scoped = scoped.where(Agency.country == country)
    if looks_like_licence(query):
        prefix, digits = _find_licence(query) or ("", "0")
        number = str(int(digits))
        rows = [
            a
            for a in session.scalars(scoped.where(Agency.licence_key.like(f"%{number}")))
            if regex.sub(r"^[A-Z]*", "", a.licence_key) == number
        ]
        # "RL 1234" prefers RL1234; a prefix no list uses ("No. 1234") is just a word.
        same_prefix = [a for a in rows if a.licence_key == prefix + number]
        return _result(same_prefix or rows, by_licence=True)
    return _by_name(list(session.scalars(scoped)), query)


def _by_name(agencies: list[Agency], query: str) -> Lookup:
    wanted = _clean_name(query)
    if not wanted:
        return _by_generic_name(agencies, query)
    names: list[tuple[str, Agency]] = [
        (cleaned, agency)
        for agency in agencies
        for name in (agency.name, *agency.aliases)
        if name and (cleaned := _clean_name(name))
    ]
    scored = process.extract(
        wanted, [n for n, _ in names], scorer=fuzz.WRatio, limit=len(names) or 1
    )
    best: dict[int, tuple[float, Agency]] = {}
    for _, score, index in scored:
        agency = names[index][1]
        if score >= CANDIDATE_SCORE and score > best.get(agency.id, (0.0, agency))[0]:
            best[agency.id] = (score, agency)
    ranked = sorted(best.values(), key=lambda pair: (-pair[0], pair[1].name))
    if not ranked:
        return Lookup()
    top_score, top = ranked[0]
    runner_up = ranked[1][0] if len(ranked) > 1 else 0.0
    if top_score >= MATCH_SCORE and runner_up < MATCH_SCORE:
        return Lookup(agency=top, snapshot=_snapshot_of(top))
    candidates = [agency for _, agency in ranked[:MAX_CANDIDATES]]
    return Lookup(candidates=candidates, snapshot=_snapshot_of(top))


def _by_generic_name(agencies: list[Agency], query: str) -> Lookup:
    """A name made only of generic words ("Overseas Manpower Ltd") matches exactly that name,
    and nothing is ever offered as "did you mean" on generic words alone."""
    wanted = _words(query)
    if not wanted:
        return Lookup()
    found = {
        agency.id: agency
        for agency in agencies
        for name in (agency.name, *agency.aliases)
        if name and _words(name) == wanted
    }
    if len(found) != 1:
        return Lookup()
    agency = next(iter(found.values()))
    return Lookup(agency=agency, snapshot=_snapshot_of(agency))


def _result(rows: list[Agency], *, by_licence: bool) -> Lookup:
    if len(rows) == 1:
        return Lookup(agency=rows[0], snapshot=_snapshot_of(rows[0]), by_licence=by_licence)
    if rows:  # the same number in several countries' lists
        rows = sorted(rows, key=lambda a: (a.country, a.name))[:MAX_CANDIDATES]
        return Lookup(candidates=rows, snapshot=_snapshot_of(rows[0]), by_licence=by_licence)
    return Lookup(by_licence=by_licence)


def _snapshot_of(agency: Agency) -> Snapshot:
    return Snapshot(agency.country, agency.source, agency.retrieved, agency.is_sample)


def _clean_name(name: str) -> str:
    """Casefolded words without punctuation or filler words.

    (rapidfuzz's default processor drops Burmese, Khmer and Bengali vowel signs as
    "non-alphanumeric", so it is not used.)
    """
    kept = (_UNSPACED_NOISE.sub("", w) for w in _words(name).split() if w not in _NAME_NOISE)
    return " ".join(w for w in kept if w)


def _words(name: str) -> str:
    """Casefolded words without punctuation."""
    words = _NOT_LETTERS.split(unicodedata.normalize("NFC", name).casefold())
    return " ".join(w for w in words if w)


def agency_count(session: Session) -> int:
    return session.scalar(select(func.count(Agency.id))) or 0
