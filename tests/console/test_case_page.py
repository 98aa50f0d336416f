"""The case view: escaping, access by role, notes, labels, assignment, and the audit trail."""

from __future__ import annotations

from collections.abc import Callable

import pyotp
import pytest
from sqlalchemy import select

from bot.console import handover
from bot.db.models import AuditEntry, Case, CaseMessage, CaseNote, Staff
from bot.services import cases
from bot.services.crypto import encrypt
from tests.console.conftest import PASSWORD, Console, csrf_of, urgent_case
from tests.fixtures.bot import messenger_body, messenger_text
from tests.fixtures.servers import wait_until

SCRIPT = "<script>alert('x')</script>"
IMAGE = '<img src=x onerror="alert(1)">'


def _audit(console: Console, case_id: int) -> list[tuple[str, str | None]]:
    with console.bot.db.sessions() as session:
        rows = session.execute(
            select(AuditEntry.action, Staff.email)
            .outerjoin(Staff, Staff.id == AuditEntry.staff_id)
            .where(AuditEntry.case_id == case_id)
            .order_by(AuditEntry.id)
        ).all()
    return [(action, email) for action, email in rows]


def test_user_text_renders_as_text_everywhere(login: Callable[[str], Console]) -> None:
    agent = login("agent@example.org")
    case_id = urgent_case(agent.bot, "P-xss")
    item = messenger_text("P-xss", f"{SCRIPT} {IMAGE}")
    agent.bot.post_messenger(messenger_body(item))
    transcript = wait_until(
        lambda: (
            (page := agent.get(f"/console/cases/{case_id}/transcript").text)
            and "alert" in page
            and page
        )
    )
    agent.post(f"/console/cases/{case_id}/note", {"text": f"note {SCRIPT}"})
    agent.post(f"/console/cases/{case_id}/labels", {"labels": IMAGE})
    page = agent.get(f"/console/cases/{case_id}").text
    queue = agent.get("/console/queue/rows").text
    for html in (transcript, page, queue):
        assert SCRIPT not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in transcript
    assert "note &lt;script&gt;" in page


def test_an_agent_cannot_open_another_agents_case(login: Callable[[str], Console]) -> None:
    owner, guesser, boss = (
        login("other@example.org"),
        login("agent@example.org"),
        login("super@example.org"),
    )
    case_id = urgent_case(owner.bot, "P-private")
    assert guesser.get(f"/console/cases/{case_id}").status_code == 200, "unassigned: open"
    owner.post(f"/console/cases/{case_id}/claim", {})
    for path in ("", "/transcript"):
        assert guesser.get(f"/console/cases/{case_id}{path}").status_code == 403
    for action in ("claim", "reply", "note", "resolve"):
        response = guesser.post(f"/console/cases/{case_id}/{action}", {"text": "x"})
        assert response.status_code == 403, action
    assert f'data-case="{case_id}"' not in guesser.get("/console/queue/rows").text
    assert guesser.get(f"/console/cases/{case_id + 1000}").status_code == 404
    assert guesser.get("/console/cases/abc").status_code == 422
    assert boss.get(f"/console/cases/{case_id}").status_code == 200, "supervisors see every case"
    assert ("denied", "agent@example.org") in _audit(guesser, case_id)
    with owner.bot.db.sessions() as session:
        assert session.scalars(select(CaseNote)).all() == []


def test_assigning_is_for_supervisors(login: Callable[[str], Console]) -> None:
    agent, boss = login("agent@example.org"), login("super@example.org")
    case_id = urgent_case(agent.bot, "P-assign")
    with agent.bot.db.sessions() as session:
        other = session.scalars(select(Staff.id).where(Staff.email == "other@example.org")).one()
    agent.post(f"/console/cases/{case_id}/assign", {"assignee": str(other)})
    assert "Only a supervisor can assign" in agent.get(f"/console/cases/{case_id}").text
    boss.post(f"/console/cases/{case_id}/assign", {"assignee": str(other)})
    with agent.bot.db.sessions() as session:
        assert session.get_one(Case, case_id).assignee_id == other
    assert agent.get(f"/console/cases/{case_id}").status_code == 403


def test_every_step_is_audited_and_supervisors_can_filter_the_log(
    login: Callable[[str], Console],
) -> None:
    agent, boss = login("agent@example.org"), login("super@example.org")
    case_id = urgent_case(agent.bot, "P-audit")
    agent.get(f"/console/cases/{case_id}")
    agent.post(f"/console/cases/{case_id}/claim", {})
    agent.post(f"/console/cases/{case_id}/reply", {"text": "Hello, we are here."})
    agent.post(f"/console/cases/{case_id}/note", {"text": "Asked about safety."})
    agent.post(f"/console/cases/{case_id}/resolve", {"outcome": "referred_hotline"})
    steps = [a for a, email in _audit(agent, case_id) if email == "agent@example.org"]
    assert [s for s in steps if s != "view"] == ["claim", "reply", "note", "resolve"]
    assert "view" in steps

    log = boss.get(f"/console/audit?case={case_id}&action=resolve").text
    assert log.count('data-action="resolve"') == 1 and 'data-action="claim"' not in log
    logins = boss.get("/console/audit?action=login&email=agent@example.org").text
    assert 'data-action="login"' in logins and "super@example.org" not in logins.split("<tbody>")[1]


def test_transcript_shows_the_case_and_its_surroundings(login: Callable[[str], Console]) -> None:
    agent = login("agent@example.org")
    first = urgent_case(agent.bot, "P-context")
    agent.post(f"/console/cases/{first}/resolve", {"outcome": "urgent_referral"})
    agent.bot.tap("P-context", "urgent.start")
    with agent.bot.db.sessions() as session:
        second = session.scalars(select(Case.id).where(Case.id != first)).one()
    page = agent.get(f"/console/cases/{second}").text
    assert f'href="/console/cases/{first}"' in page and "urgent referral" in page
    assert "start.privacy → menu.main" in page, "the flow path that led here"
    for fact in ("<dd>km</dd>", "<dd>KH</dd>", "<dd>messenger</dd>", "<dd>urgent help</dd>"):
        assert fact in page


def test_what_the_bot_sent_during_the_case_is_in_the_transcript(
    login: Callable[[str], Console],
) -> None:
    agent = login("agent@example.org")
    case_id = urgent_case(agent.bot, "P-numbers")
    transcript = agent.get(f"/console/cases/{case_id}/transcript").text
    assert "023 997 919" in transcript, "the urgent numbers tapped for after the case opened"


def test_zawgyi_input_shows_as_typed_and_in_unicode(login: Callable[[str], Console]) -> None:
    agent = login("agent@example.org")
    case_id = urgent_case(agent.bot, "P-zawgyi")
    typed, unicode = "ကၽြန္ေတာ္", "ကျွန်တော်"
    with agent.bot.db.session() as session:
        case = session.get_one(Case, case_id)
        cases.append_transcript(session, case, direction="in", text=unicode, original=typed)
    transcript = agent.get(f"/console/cases/{case_id}/transcript").text
    assert f'<p class="text">{unicode}</p>' in transcript
    assert "As typed (Zawgyi):" in transcript and typed in transcript


def test_refusals_are_pages_a_person_can_read(login: Callable[[str], Console]) -> None:
    agent = login("agent@example.org")
    page = agent.get("/console/audit")
    assert page.status_code == 403 and "your role does not allow this page" in page.text
    assert "Back to the queue" in agent.get("/console/cases/999").text


def test_bad_input_is_a_clear_refusal_never_a_server_error(
    login: Callable[[str], Console],
) -> None:
    agent, boss, admin = (
        login("agent@example.org"),
        login("super@example.org"),
        login("admin@example.org"),
    )
    case_id = urgent_case(agent.bot, "P-bad-input")
    huge = "9" * 20
    assert agent.get(f"/console/cases/{huge}").status_code == 422
    assert agent.get(f"/console/cases/{huge}/transcript").status_code == 422
    assert boss.get("/console/audit?case=²").status_code == 200
    assert boss.get(f"/console/audit?case={huge}").status_code == 200
    assert admin.post(f"/console/staff/{huge}", {"change": "unlock"}).status_code in (400, 422)
    assign = boss.post(f"/console/cases/{case_id}/assign", {"assignee": huge})
    assert assign.status_code in (303, 422)
    for path, data in (
        ("status", {"status": "snoozed", "until": "tomorrow"}),
        ("status", {"status": "closed"}),
        ("resolve", {"outcome": "<b>made up</b>"}),
    ):
        assert agent.post(f"/console/cases/{case_id}/{path}", data).status_code == 303, data
    with agent.bot.db.sessions() as session:
        assert session.get_one(Case, case_id).status == "open"


def test_a_claim_made_on_a_stale_page_cannot_take_a_held_case(
    login: Callable[[str], Console],
) -> None:
    """Two agents claim at once: the second must be refused, not silently take the case."""
    owner = login("other@example.org")
    bot = owner.bot
    case_id = urgent_case(bot, "P-race")
    with bot.db.sessions() as late:
        case = late.get_one(Case, case_id)  # read before the other claim landed
        me = late.scalars(select(Staff).where(Staff.email == "agent@example.org")).one()
        late.commit()
        assert owner.post(f"/console/cases/{case_id}/claim", {}).status_code == 303
        with pytest.raises(handover.Refused), late.begin():
            handover.claim(late, me, case)
    with bot.db.sessions() as session:
        holder = session.get_one(Case, case_id).assignee_id
        assert session.get_one(Staff, holder).email == "other@example.org"
        claims = session.scalars(
            select(AuditEntry).where(AuditEntry.case_id == case_id, AuditEntry.action == "claim")
        ).all()
        assert len(claims) == 1


def test_the_persons_taps_show_in_the_transcript(login: Callable[[str], Console]) -> None:
    """Taps are recorded by the handover (direction "tap", the button's title, encrypted);
    the console shows them as the person's, marked as taps, escaped like any text."""
    agent = login("agent@example.org")
    case_id = urgent_case(agent.bot, "P-taps")
    with agent.bot.db.session() as session:
        tap = CaseMessage(case_id=case_id, direction="tap", text_enc=encrypt(f"Call {SCRIPT}"))
        session.add(tap)
    transcript = agent.get(f"/console/cases/{case_id}/transcript").text
    taps = [line.split("</li>")[0] for line in transcript.split('<li class="line tap in">')[1:]]
    assert any("Person tapped" in tap and "▸ Call &lt;script&gt;" in tap for tap in taps)


def test_an_agent_may_turn_the_second_factor_on_and_off_a_supervisor_may_not(
    login: Callable[[str], Console],
) -> None:
    agent, boss = login("agent@example.org"), login("super@example.org")
    page = agent.get("/console/account/totp").text
    secret = page.split('id="totp-secret">')[1].split("<")[0].replace(" ", "")
    token = csrf_of(page)
    on = agent.client.post(
        f"{agent.bot.url}/console/account/totp",
        data={"code": pyotp.TOTP(secret).now(), "csrf_token": token},
    )
    assert on.headers["location"] == "/console/account"
    assert "On: every login asks for a code" in agent.get("/console/account").text
    off = agent.post("/console/account/totp/remove", {"password": PASSWORD})
    assert off.status_code == 303
    assert "Off." in agent.get("/console/account").text
    refused = boss.post("/console/account/totp/remove", {"password": PASSWORD})
    assert refused.status_code == 400 and "must keep a second factor" in refused.text
    with agent.bot.db.sessions() as session:
        kept = session.scalars(select(Staff).where(Staff.email == "super@example.org")).one()
        assert kept.totp_secret_enc is not None
