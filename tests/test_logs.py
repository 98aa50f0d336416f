"""The PII scrubber: phones, emails and passport-like numbers, in all four scripts' digits."""

from __future__ import annotations

import logging
import sys

import httpx
import pytest

from bot.logs import ScrubFilter, configure, scrub


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("call me on +66 81 234 5678 please", "call me on [phone] please"),
        ("ဖုန်း ၀၉၂၅၀၁၂၃၄၅၆ ပါ", "ဖုန်း [phone] ပါ"),  # Burmese digits
        ("លេខ ០១២ ៣៤៥ ៦៧៨ ណា", "លេខ [phone] ណា"),  # Khmer digits
        ("নম্বর ০১৭১১-২৩৪৫৬৭ দিন", "নম্বর [phone] দিন"),  # Bengali digits
        ("passport MA1234567 taken", "passport [id] taken"),
        ("পাসপোর্ট BX০১২৩৪৫৬৭", "পাসপোর্ট [id]"),
        ("write to aung.min+job@example.com.mm", "write to [email]"),
        ("agency RL-1024 fee 35000 baht", "agency RL-1024 fee 35000 baht"),  # short: not a phone
        ("case 123456 of ၁၂၃", "case 123456 of ၁၂၃"),  # six digits: an id, not a phone
    ],
)
def test_scrub(text: str, expected: str) -> None:
    assert scrub(text) == expected


def test_filter_scrubs_arguments_and_tracebacks() -> None:
    try:
        raise ValueError("bad number ០៩៨៧៦៥៤៣២១")
    except ValueError:
        record = logging.LogRecord(
            "x", logging.ERROR, __file__, 1, "user %s said %s", ("a@b.org", "MA1234567"), None
        )
        record.exc_info = sys.exc_info()
    assert ScrubFilter().filter(record)
    assert record.getMessage() == "user [email] said [id]"
    assert "០៩៨" not in (record.exc_text or "") and "[phone]" in (record.exc_text or "")


def test_outbound_request_lines_with_tokens_are_not_logged() -> None:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    records: list[logging.LogRecord] = []
    try:
        configure("INFO")
        collector = logging.Handler()
        collector.emit = records.append  # type: ignore[method-assign]
        root.addHandler(collector)
        transport = httpx.MockTransport(lambda request: httpx.Response(200))
        with httpx.Client(transport=transport) as client:
            client.post("http://graph.test/me/messages", params={"access_token": "s3cret"})
        logging.getLogger("bot.test").info("still logging")
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    messages = [record.getMessage() for record in records]
    assert "still logging" in messages
    assert not any("s3cret" in message for message in messages)
