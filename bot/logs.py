"""Application logging, with personal data scrubbed from every record before it is written.

Users type phone numbers, emails and passport numbers in four scripts' digits; none of that may
reach a log file, whatever module logged it.
"""

from __future__ import annotations

import logging
import os

import regex

_DIGIT = r"[0-9၀-၉០-៩০-৯]"
_PATTERNS = [
    (regex.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"), "[email]"),
    # Passport-like: one or two letters then six to nine digits (MA1234567, B12345678).
    (regex.compile(rf"(?<![\p{{L}}\p{{N}}])\p{{Lu}}{{1,2}}{_DIGIT}{{6,9}}(?!\p{{N}})"), "[id]"),
    # Phone-like: seven or more digits, optionally grouped by spaces, dots or dashes, or +.
    (regex.compile(rf"(?<!\p{{N}})\+?{_DIGIT}(?:[\s.\-()]*{_DIGIT}){{6,}}(?!\p{{N}})"), "[phone]"),
]


def scrub(text: str) -> str:
    for pattern, label in _PATTERNS:
        text = pattern.sub(label, text)
    return text


class ScrubFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        record.msg, record.args = scrub(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = scrub(record.exc_text)
        return True


def configure(level: str | None = None) -> None:
    """Root logging to stderr through the scrubber; uvicorn's loggers included."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(ScrubFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level or os.environ.get("LOG_LEVEL", "INFO"))
    # httpx logs every request line at INFO, query string included: the Graph API's
    # access_token and Rasa's token travel there.
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
