"""End to end: signed webhooks into the running app, replies out at the fake platform APIs."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

from sqlalchemy import func, select

from bot.app import create_app
from bot.clock import utcnow
from bot.db.models import InboundEvent, OutboxMessage, User
from bot.dialogue.base import Response
from bot.messages import Reply
from tests.fixtures.bot import (
    VERIFY_TOKEN,
    RunningBot,
    messenger_body,
    messenger_text,
    sign_viber,
    viber_text,
)
from tests.fixtures.servers import serve, wait_until


def count(bot: RunningBot, model: type, *where: object) -> int:
    with bot.db.sessions() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def settle(bot: RunningBot) -> None:
    """Wait until every stored event is handled and every reply sent or given up."""
    wait_until(
        lambda: count(bot, InboundEvent, InboundEvent.status.in_(("pending", "working"))) == 0
    )
    wait_until(
        lambda: count(bot, OutboxMessage, OutboxMessage.status.in_(("pending", "working"))) == 0
    )


# --- Messenger -------------------------------------------------------------------------------


def test_verification_handshake_echoes_challenge(bot: RunningBot) -> None:
    params = {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "42xyz"}
    ok = bot.client.get(f"{bot.url}/webhooks/messenger", params=params)
    assert (ok.status_code, ok.text) == (200, "42xyz")
    assert ok.headers["content-type"].startswith("text/plain")
    wrong = bot.client.get(
        f"{bot.url}/webhooks/messenger", params={**params, "hub.verify_token": "nope"}
    )
    assert wrong.status_code == 403
    assert bot.client.get(f"{bot.url}/webhooks/messenger").status_code == 403


def test_webhooks_answer_with_and_without_a_root_path(bot: RunningBot) -> None:
    """Webhooks skip FastAPI's middleware on a short path; under a proxy's root path they
    still reach their handlers, the long way."""
    body = json.dumps(messenger_body(messenger_text("R1", "hello"))).encode()
    unsigned = {"content-type": "application/json", "x-hub-signature-256": "sha256=00"}
    assert (
        bot.client.post(f"{bot.url}/webhooks/messenger", content=body, headers=unsigned).status_code
        == 403
    )
    app = create_app(bot.settings, run_workers=False)
    with serve(app, root_path="/bot") as url:
        refused = bot.client.post(f"{url}/webhooks/messenger", content=body, headers=unsigned)
        assert (refused.status_code, refused.text) == (403, "bad signature")
        assert bot.client.get(f"{url}/webhooks/nowhere").status_code == 404


def test_signed_text_gets_exactly_one_reply(bot: RunningBot) -> None:
    response = bot.post_messenger(messenger_body(messenger_text("U1", "hello")))
    assert response.status_code == 200
    wait_until(lambda: bot.platforms.messenger("U1"))
    settle(bot)
    sent = bot.platforms.messenger("U1")
    assert len(sent) >= 1
    assert sent[0].query["access_token"] == "test-page-token"
    assert sent[0].body["messaging_type"] == "RESPONSE"
    assert sent[0].body["message"]
    # One reply: everything sent answers the single handled event, and was sent once.
    with bot.db.sessions() as session:
        event_ids = session.scalars(select(InboundEvent.id)).all()
        answers = session.scalars(select(OutboxMessage.inbound_id)).all()
    assert len(event_ids) == 1 and set(answers) == set(event_ids)
    assert len(sent) == len(answers) == count(bot, OutboxMessage, OutboxMessage.status == "sent")


def test_bad_or_missing_signature_is_refused_and_nothing_stored(bot: RunningBot) -> None:
    body = messenger_body(messenger_text("U2", "hello"))
    assert bot.post_messenger(body, signature=None).status_code == 403
    assert bot.post_messenger(body, signature="sha256=" + "0" * 64).status_code == 403
    assert bot.post_messenger(body, signature="garbage").status_code == 403
    assert count(bot, InboundEvent) == 0
    assert bot.platforms.messenger("U2") == []


def test_malformed_bodies_are_refused_and_nothing_stored(bot: RunningBot) -> None:
    from tests.fixtures.bot import sign_messenger

    for raw in (
        b"{not json",
        json.dumps({"object": "page"}).encode(),
        b'{"object":"user"}',
        json.dumps({"object": "page", "entry": [{"messaging": [{"x": 1}]}]}).encode(),
    ):
        response = bot.client.post(
            f"{bot.url}/webhooks/messenger",
            content=raw,
            headers={"x-hub-signature-256": sign_messenger(raw)},
        )
        assert response.status_code == 400, raw
    assert count(bot, InboundEvent) == 0


def test_oversized_body_is_refused(bot: RunningBot) -> None:
    body = messenger_body(messenger_text("U3", "x" * (1024 * 1024 + 10)))
    assert bot.post_messenger(body).status_code == 413
    assert count(bot, InboundEvent) == 0


def test_batched_entries_each_get_handled(bot: RunningBot) -> None:
    body = {
        "object": "page",
        "entry": [
            {
                "id": "P",
                "time": 1,
                "messaging": [messenger_text("B1", "hi"), messenger_text("B2", "hi")],
            },
            {"id": "P", "time": 2, "messaging": [messenger_text("B3", "hi")]},
        ],
    }
    assert bot.post_messenger(body).status_code == 200
    for user in ("B1", "B2", "B3"):
        wait_until(lambda user=user: bot.platforms.messenger(user))
    assert count(bot, InboundEvent) == 3


def test_echoes_deliveries_and_reads_are_ignored(bot: RunningBot) -> None:
    echo = {
        "sender": {"id": "PAGE"},
        "recipient": {"id": "E1"},
        "timestamp": 1,
        "message": {"mid": "m.echo", "is_echo": True, "text": "our own"},
    }
    delivery = {
        "sender": {"id": "E1"},
        "recipient": {"id": "PAGE"},
        "timestamp": 1,
        "delivery": {"mids": ["m_1"], "watermark": 1},
    }
    read = {
        "sender": {"id": "E1"},
        "recipient": {"id": "PAGE"},
        "timestamp": 1,
        "read": {"watermark": 1},
    }
    assert bot.post_messenger(messenger_body(echo, delivery, read)).status_code == 200
    assert count(bot, InboundEvent) == 0


def test_redelivered_mid_gets_no_second_reply(bot: RunningBot) -> None:
    body = messenger_body(messenger_text("D1", "hello", mid="mid.same"))
    assert bot.post_messenger(body).status_code == 200
    wait_until(lambda: bot.platforms.messenger("D1"))
    settle(bot)
    first = len(bot.platforms.messenger("D1"))
    assert bot.post_messenger(body).status_code == 200
    settle(bot)
    assert len(bot.platforms.messenger("D1")) == first
    assert count(bot, InboundEvent) == 1


def test_racing_redeliveries_store_once(bot: RunningBot) -> None:
    body = messenger_body(messenger_text("R1", "hello", mid="mid.race"))
    statuses: list[int] = []

    def post() -> None:
        statuses.append(bot.post_messenger(body).status_code)

    threads = [threading.Thread(target=post) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 8
    settle(bot)
    assert count(bot, InboundEvent) == 1
    assert count(bot, OutboxMessage) == len(bot.platforms.messenger("R1")) >= 1


def test_attachment_gets_text_only_reply_and_no_nlu(bot: RunningBot) -> None:
    item = {
        "sender": {"id": "A1"},
        "recipient": {"id": "PAGE"},
        "timestamp": 1,
        "message": {"mid": "m.att", "attachments": [{"type": "image", "payload": {"url": "x"}}]},
    }
    assert bot.post_messenger(messenger_body(item)).status_code == 200
    sent = wait_until(lambda: bot.platforms.messenger("A1"))
    assert sent[0].body["message"]["text"]


def test_database_down_answers_503(make_bot) -> None:  # type: ignore[no-untyped-def]
    with make_bot() as bot:
        # Break the app's storage underneath it: the event cannot be stored, so no 200.
        with bot.db.engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE inbound_events")
        response = bot.post_messenger(messenger_body(messenger_text("X1", "hello")))
        assert response.status_code == 503
        assert bot.platforms.messenger("X1") == []


# --- Outbox: retries, permanent errors, restarts --------------------------------------------


def test_retry_after_500_then_success(bot: RunningBot) -> None:
    bot.platforms.fail_next("/me/messages", 500, {"error": {"message": "oops", "code": 1}}, times=2)
    bot.post_messenger(messenger_body(messenger_text("T1", "hello")))
    settle(bot)
    attempts = bot.platforms.messenger("T1")
    with bot.db.sessions() as session:
        first = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).first()
    assert first.status == "sent" and first.attempts == 3
    assert len(attempts) == count(bot, OutboxMessage) + 2


def test_permanent_error_551_is_not_retried_and_marks_user(bot: RunningBot) -> None:
    bot.platforms.fail_next(
        "/me/messages",
        400,
        {"error": {"message": "unavailable", "code": 551, "error_subcode": 1545041}},
    )
    bot.post_messenger(messenger_body(messenger_text("P1", "hello")))
    settle(bot)
    with bot.db.sessions() as session:
        rows = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        user = session.scalars(select(User).where(User.address == "P1")).one()
    assert rows[0].status == "failed" and rows[0].attempts == 1
    assert all(r.status == "failed" for r in rows)
    assert user.unreachable
    assert len(bot.platforms.messenger("P1")) == 1


def test_restart_handles_stored_events_and_sends_held_replies(make_bot) -> None:  # type: ignore[no-untyped-def]
    with make_bot(run_workers=False) as bot:
        assert bot.post_messenger(messenger_body(messenger_text("S1", "hello"))).status_code == 200
        assert bot.post_viber(viber_text("V-S1", "hello")).status_code == 200
        assert count(bot, InboundEvent, InboundEvent.status == "pending") == 2
    with make_bot() as bot:
        wait_until(lambda: bot.platforms.messenger("S1") and bot.platforms.viber("V-S1"))
        settle(bot)
        assert count(bot, InboundEvent, InboundEvent.status == "done") == 2


def test_outbox_survives_restart(make_bot) -> None:  # type: ignore[no-untyped-def]
    with make_bot(OUTBOX_BACKOFF_SECONDS=3600) as bot:
        bot.platforms.fail_next("/me/messages", 503, {}, times=1)
        bot.post_messenger(messenger_body(messenger_text("O1", "hello")))
        wait_until(lambda: count(bot, OutboxMessage, OutboxMessage.attempts == 1) >= 1)
        wait_until(lambda: count(bot, InboundEvent, InboundEvent.status == "done") == 1)
    assert count(bot, OutboxMessage, OutboxMessage.status == "sent") == 0
    # The process stopped holding the reply: its retry falls due, and one row was mid-send when
    # the worker died (its lease ran out). A new process sends both.
    with bot.db.session() as session:
        rows = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        rows[0].next_attempt_at = utcnow()
        rows[-1].status, rows[-1].lease_until = "working", utcnow() - timedelta(seconds=1)
    with make_bot() as bot:
        settle(bot)
        assert count(bot, OutboxMessage, OutboxMessage.status == "sent") == count(
            bot, OutboxMessage
        )
        assert bot.platforms.messenger("O1")


# --- Viber -----------------------------------------------------------------------------------


def test_viber_signature_matches_sdk_vector() -> None:
    body = b'{"event":"webhook","timestamp":4977069964384421269,"message_token":1478683725125}'
    key = "44dafb7e0f40021e-61a47a1e6778d187-f2c5a676a07050b3"
    assert (
        sign_viber(body, key) == "d21b343448c8aee33b8e93768ef6ceb64a6ba6163099973a2b8bd028fea510ef"
    )


def test_viber_webhook_event_and_bad_signature(bot: RunningBot) -> None:
    body = {"event": "webhook", "timestamp": 1, "message_token": 1}
    assert bot.post_viber(body).status_code == 200
    assert bot.post_viber(viber_text("VB", "hi"), signature=None).status_code == 403
    assert bot.post_viber(viber_text("VB", "hi"), signature="ab" * 32).status_code == 403
    assert count(bot, InboundEvent) == 0


def test_viber_text_gets_one_reply_and_redelivery_none(bot: RunningBot) -> None:
    body = viber_text("V1", "hello", token=777)
    assert bot.post_viber(body).status_code == 200
    wait_until(lambda: bot.platforms.viber("V1"))
    settle(bot)
    sent = bot.platforms.viber("V1")
    assert sent[0].headers["x-viber-auth-token"] == "test-viber-token"
    assert sent[0].body["receiver"] == "V1" and sent[0].body["type"] == "text"
    assert bot.post_viber(body).status_code == 200
    settle(bot)
    assert len(bot.platforms.viber("V1")) == len(sent)
    assert count(bot, InboundEvent) == 1


def test_viber_conversation_started_welcome_in_response_body(bot: RunningBot) -> None:
    body = {
        "event": "conversation_started",
        "timestamp": 1,
        "message_token": 99,
        "type": "open",
        "user": {"id": "V2", "name": "N", "language": "my", "api_version": 8},
        "subscribed": False,
    }
    response = bot.post_viber(body)
    assert response.status_code == 200
    welcome = response.json()
    assert welcome["type"] == "text" and welcome["sender"]["name"]
    assert any("\u1000" <= ch <= "\u109f" for ch in welcome["text"]), "welcome is in Burmese"
    assert bot.platforms.viber("V2") == []


def test_viber_unsubscribed_user_gets_nothing(bot: RunningBot) -> None:
    bot.post_viber(viber_text("V3", "hello"))
    wait_until(lambda: bot.platforms.viber("V3"))
    settle(bot)
    before = len(bot.platforms.viber("V3"))
    bot.post_viber({"event": "unsubscribed", "timestamp": 2, "user_id": "V3", "message_token": 31})
    settle(bot)
    with bot.db.sessions() as session:
        user = session.scalars(select(User).where(User.address == "V3")).one()
        assert user.opted_out and user.unreachable
    assert len(bot.platforms.viber("V3")) == before


def test_viber_delivery_status_is_recorded(bot: RunningBot) -> None:
    bot.post_viber(viber_text("V4", "hello"))
    sent = wait_until(lambda: bot.platforms.viber("V4"))
    settle(bot)
    with bot.db.sessions() as session:
        first = select(OutboxMessage.external_id).order_by(OutboxMessage.id)
        token = session.scalars(first).first()
    assert token
    bot.post_viber({"event": "seen", "timestamp": 3, "message_token": int(token), "user_id": "V4"})
    with bot.db.sessions() as session:
        seen = select(OutboxMessage.delivery).where(OutboxMessage.external_id == token)
        assert session.scalars(seen).one() == "seen"
    assert sent


def test_viber_status_12_retried_and_6_marks_unreachable(bot: RunningBot) -> None:
    bot.platforms.fail_next("/send_message", 200, {"status": 12, "status_message": "too many"})
    bot.post_viber(viber_text("V5", "hello"))
    settle(bot)
    assert count(bot, OutboxMessage, OutboxMessage.status == "sent") == count(bot, OutboxMessage)
    bot.platforms.fail_next("/send_message", 200, {"status": 6, "status_message": "not subscribed"})
    bot.post_viber(viber_text("V6", "hello"))
    settle(bot)
    with bot.db.sessions() as session:
        user = session.scalars(select(User).where(User.address == "V6")).one()
    assert user.unreachable
    assert len(bot.platforms.viber("V6")) == 1


# --- Several processes on one database ----------------------------------------------------


def test_two_app_instances_share_the_work_without_duplicates(make_bot, database_url) -> None:  # type: ignore[no-untyped-def]
    senders = [f"M{i}" for i in range(12)]
    with make_bot() as first, make_bot() as second:
        for i in range(36):
            target = first if i % 2 else second
            target.post_messenger(messenger_body(messenger_text(senders[i % 12], f"hello {i}")))
        settle(first)
        received = first.platforms.messenger()
        assert count(first, InboundEvent, InboundEvent.status == "done") == 36
        assert len(received) == count(first, OutboxMessage, OutboxMessage.status == "sent")
        with first.db.sessions() as session:
            answered = session.scalars(select(OutboxMessage.inbound_id).distinct()).all()
        assert len(answered) == 36


class Echo:
    """A dialogue that repeats the text: makes the pipeline's ordering visible."""

    def respond(self, session, user, turn, stored=None):  # type: ignore[no-untyped-def]
        return Response([Reply(text=f"echo {turn.text}")])

    def welcome(self, language):  # type: ignore[no-untyped-def]
        return Reply(text="welcome")


def test_each_users_replies_arrive_in_the_order_they_wrote(make_bot) -> None:  # type: ignore[no-untyped-def]
    with make_bot(dialogue=Echo(), WORKER_CONCURRENCY=4) as bot:
        for i in range(15):
            for user in ("Q1", "Q2"):
                bot.post_messenger(messenger_body(messenger_text(user, f"n{i}")))
        # A transient failure mid-stream must not let later replies overtake the retried one.
        bot.platforms.fail_next("/me/messages", 500, {}, times=2)
        settle(bot)
        for user in ("Q1", "Q2"):
            texts = [r.body["message"]["text"] for r in bot.platforms.messenger(user)]
            delivered = list(dict.fromkeys(texts))  # a retried send repeats a text in place
            assert delivered == [f"echo n{i}" for i in range(15)]


def test_say_returns_exactly_the_answer_to_that_message(bot: RunningBot) -> None:
    first = bot.say("H1", "hello")
    second = bot.say("H1", "hello again", channel="messenger")
    viber = bot.say("H2", "hello", channel="viber")
    assert first and second and viber
    assert all(b["recipient"]["id"] == "H1" for b in first + second)
    assert all(b["receiver"] == "H2" for b in viber)
