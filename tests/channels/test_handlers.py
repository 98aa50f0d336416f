"""One table per channel, courier style: a request body in, the expected neutral events out."""

from __future__ import annotations

from typing import Any

import pytest

from bot.channels.base import BadPayload, Channel
from bot.channels.messenger import Messenger
from bot.channels.viber import PAYLOAD_PREFIX, Viber
from bot.messages import Inbound


def messenger() -> Messenger:
    return Messenger(app_secret="s", page_token="t", graph_url="http://127.0.0.1:9", timeout=1)


def viber() -> Viber:
    return Viber(auth_token="t", bot_name="SafeStep", api_url="http://127.0.0.1:9", timeout=1)


def _m(*items: dict[str, Any]) -> dict[str, Any]:
    return {"object": "page", "entry": [{"id": "P", "time": 1, "messaging": list(items)}]}


def _item(**fields: Any) -> dict[str, Any]:
    return {"sender": {"id": "U"}, "recipient": {"id": "P"}, "timestamp": 1700000000000, **fields}


MESSENGER_CASES: list[tuple[str, Any, list[Inbound] | type[Exception]]] = [
    (
        "text",
        _m(_item(message={"mid": "m1", "text": "မင်္ဂလာပါ"})),
        [Inbound("messenger", "m1", "text", "U", text="မင်္ဂလာပါ", timestamp_ms=1700000000000)],
    ),
    (
        "quick reply tap carries its payload, not its title",
        _m(
            _item(
                message={"mid": "m2", "text": "Hotline", "quick_reply": {"payload": "MENU:HOTLINE"}}
            )
        ),
        [Inbound("messenger", "m2", "payload", "U", payload="MENU:HOTLINE")],
    ),
    (
        "postback with mid",
        _m(_item(postback={"mid": "m3", "title": "Start", "payload": "TIPS"})),
        [Inbound("messenger", "m3", "payload", "U", payload="TIPS")],
    ),
    (
        "get started is a start",
        _m(_item(postback={"mid": "m4", "payload": "GET_STARTED"})),
        [Inbound("messenger", "m4", "start", "U", payload="GET_STARTED")],
    ),
    *[
        (
            f"{kind} attachment",
            _m(_item(message={"mid": f"a-{kind}", "attachments": [{"type": kind, "payload": {}}]})),
            [Inbound("messenger", f"a-{kind}", "attachment", "U", attachment=kind)],
        )
        for kind in ("image", "audio", "video", "file", "location")
    ],
    (
        "sticker",
        _m(
            _item(
                message={
                    "mid": "s1",
                    "sticker_id": 369239263222822,
                    "attachments": [{"type": "image"}],
                }
            )
        ),
        [Inbound("messenger", "s1", "attachment", "U", attachment="sticker")],
    ),
    ("echo ignored", _m(_item(message={"mid": "e", "is_echo": True, "text": "x"})), []),
    ("delivery ignored", _m(_item(delivery={"mids": ["x"], "watermark": 1})), []),
    ("read ignored", _m(_item(read={"watermark": 1})), []),
    (
        "batch across entries",
        {
            "object": "page",
            "entry": [
                {"messaging": [_item(message={"mid": "b1", "text": "a"})]},
                {"messaging": [_item(message={"mid": "b2", "text": "b"})]},
            ],
        },
        [
            Inbound("messenger", "b1", "text", "U", text="a", timestamp_ms=1700000000000),
            Inbound("messenger", "b2", "text", "U", text="b", timestamp_ms=1700000000000),
        ],
    ),
    ("not a page", {"object": "instagram", "entry": []}, BadPayload),
    ("entry not a list", {"object": "page", "entry": {}}, BadPayload),
    ("no sender", _m({"message": {"mid": "x", "text": "hi"}}), BadPayload),
    ("message without mid", _m(_item(message={"text": "hi"})), BadPayload),
    ("not an object", ["page"], BadPayload),
]


def _v(event: str, **fields: Any) -> dict[str, Any]:
    return {"event": event, "timestamp": 1700000000000, **fields}


VIBER_SENDER = {"id": "V+1==", "name": "A", "language": "km", "api_version": 10}
VIBER_CASES: list[tuple[str, Any, list[Inbound] | type[Exception]]] = [
    ("webhook check", _v("webhook", message_token=1), []),
    (
        "text",
        _v(
            "message",
            message_token=11,
            sender=VIBER_SENDER,
            message={"type": "text", "text": "សួស្តី"},
        ),
        [
            Inbound(
                "viber",
                "11",
                "text",
                "V+1==",
                text="សួស្តី",
                platform_language="km",
                timestamp_ms=1700000000000,
            )
        ],
    ),
    (
        "keyboard tap",
        _v(
            "message",
            message_token=12,
            sender=VIBER_SENDER,
            message={"type": "text", "text": PAYLOAD_PREFIX + "LANG:km"},
        ),
        [Inbound("viber", "12", "payload", "V+1==", payload="LANG:km", platform_language="km")],
    ),
    *[
        (
            f"{kind} message",
            _v("message", message_token=13, sender=VIBER_SENDER, message={"type": kind}),
            [
                Inbound(
                    "viber", "13", "attachment", "V+1==", attachment=kind, platform_language="km"
                )
            ],
        )
        for kind in ("picture", "sticker", "location", "contact")
    ],
    (
        "conversation started",
        _v(
            "conversation_started",
            message_token=14,
            type="open",
            user=VIBER_SENDER,
            subscribed=False,
        ),
        [Inbound("viber", "14", "start", "V+1==", platform_language="km")],
    ),
    (
        "subscribed",
        _v("subscribed", message_token=15, user=VIBER_SENDER),
        [Inbound("viber", "15", "subscribed", "V+1==")],
    ),
    (
        "unsubscribed",
        _v("unsubscribed", message_token=16, user_id="V+1=="),
        [Inbound("viber", "16", "unsubscribed", "V+1==")],
    ),
    *[
        (
            f"{status} receipt",
            _v(status, message_token=17, user_id="V+1=="),
            [Inbound("viber", "17", "delivery", "V+1==", delivery=status)],
        )
        for status in ("delivered", "seen", "failed")
    ],
    ("no event", {"timestamp": 1}, BadPayload),
    (
        "message without token",
        _v("message", sender=VIBER_SENDER, message={"type": "text"}),
        BadPayload,
    ),
    (
        "message without sender",
        _v("message", message_token=18, message={"type": "text"}),
        BadPayload,
    ),
]

TABLE = [(messenger, *case) for case in MESSENGER_CASES] + [(viber, *case) for case in VIBER_CASES]


@pytest.mark.parametrize(("make", "name", "body", "expected"), TABLE, ids=[c[1] for c in TABLE])
def test_parse(make: Any, name: str, body: Any, expected: Any) -> None:
    channel: Channel = make()
    if isinstance(expected, type):
        with pytest.raises(expected):
            channel.parse(body)
    else:
        assert channel.parse(body) == expected
