"""The schema. Privacy decides the shape:

- `users` holds the channel address (needed to reply) and nothing else identifying;
- message text is kept only inside escalation cases, encrypted (`case_messages`);
- analytics carry a pseudonymous key that no table joins back to `users`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from bot.clock import utcnow


class UTCDateTime(TypeDecorator[datetime]):
    """Always aware UTC in Python, whatever the database keeps (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime, dict: JSON, list: JSON}


# BigInteger ids on PostgreSQL, INTEGER (the rowid alias) on SQLite.
Id = BigInteger().with_variant(Integer(), "sqlite")


class User(Base):
    """A person on one channel, known to the bot by the address it replies to."""

    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("channel", "address"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(128))
    language: Mapped[str | None] = mapped_column(String(8))
    platform_language: Mapped[str | None] = mapped_column(String(16))
    country: Mapped[str | None] = mapped_column(String(2))
    opted_out: Mapped[bool] = mapped_column(Boolean, default=False)
    unreachable: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_inbound_at: Mapped[datetime | None]

    conversation: Mapped[Conversation | None] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True
    )


class Conversation(Base):
    """Where a user is in a flow; expires after inactivity."""

    __tablename__ = "conversations"

    user_id: Mapped[int] = mapped_column(
        Id, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    flow: Mapped[str | None] = mapped_column(String(64))
    step: Mapped[str | None] = mapped_column(String(64))
    slots: Mapped[dict] = mapped_column(default=dict)
    path: Mapped[list] = mapped_column(default=list)
    misses: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    user: Mapped[User] = relationship(back_populates="conversation")


# The rows a claim walks, as the partial indexes' predicate and the queries that use them say
# it: spelled out, not as parameters, so that a prepared statement's plan can use the index.
UNFINISHED = "status IN ('pending', 'working')"


class InboundEvent(Base):
    """A webhook event, stored before it is acknowledged; its payload is dropped once handled."""

    __tablename__ = "inbound_events"
    __table_args__ = (
        UniqueConstraint("channel", "external_id"),
        Index("ix_inbound_claim", "status", "shard", "id"),
        # The claim's walk in id order over unfinished events only: by the primary key it
        # stepped over every handled one first (all of a backlog's, for each claim).
        Index(
            "ix_inbound_unfinished",
            "id",
            postgresql_where=text(UNFINISHED),
            sqlite_where=text(UNFINISHED),
        ),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(32))
    # The sender's own hash (`inbound.shard_of`): one person's events are handled in order.
    shard: Mapped[int] = mapped_column(Integer, default=0)
    payload: Mapped[dict | None]
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_until: Mapped[datetime | None]
    # Who holds the lease: finishing the work checks it, so a worker that stalled past its
    # lease cannot apply an event another worker has taken over.
    claim_token: Mapped[str | None] = mapped_column(String(32))
    error: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    processed_at: Mapped[datetime | None]


class OutboxMessage(Base):
    """A reply stored before it is sent; the sender worker owns its life from here."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_claim", "status", "next_attempt_at"),
        Index(
            "ix_outbox_unsent",
            "id",
            postgresql_where=text(UNFINISHED),
            sqlite_where=text(UNFINISHED),
        ),
        Index("ix_outbox_user", "user_id", "id"),
        Index("ix_outbox_external", "channel", "external_id"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    user_id: Mapped[int] = mapped_column(Id, ForeignKey("users.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))
    payload: Mapped[dict]
    tag: Mapped[str | None] = mapped_column(String(32))
    case_id: Mapped[int | None] = mapped_column(Id, ForeignKey("cases.id", ondelete="SET NULL"))
    # The inbound event this answers (None for staff replies): one turn, one traceable reply.
    inbound_id: Mapped[int | None] = mapped_column(Id)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    lease_until: Mapped[datetime | None]
    claim_token: Mapped[str | None] = mapped_column(String(32))
    # After this the reply is no longer useful (or allowed): Messenger's reply windows.
    expires_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    external_id: Mapped[str | None] = mapped_column(String(128))
    delivery: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]


class ChannelBreaker(Base):
    """An open circuit breaker: the channel itself refuses (bad token, app blocked).

    Its replies wait, pending, instead of failing one by one; every worker process sees it.
    """

    __tablename__ = "channel_breakers"

    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    error: Mapped[str] = mapped_column(Text)
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    retry_at: Mapped[datetime]
    trips: Mapped[int] = mapped_column(Integer, default=1)


class Staff(Base):
    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(16))
    languages: Mapped[list] = mapped_column(default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Console security (migration 0004_console): a reset password must be replaced at the next
    # login; the TOTP secret is encrypted with DATA_KEY; the last accepted time step stops a
    # code from being used twice.
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    totp_secret_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)


class ConsoleSession(Base):
    """A console login, server side: the cookie holds a random token, this row its SHA-256.

    `stage` is what the login still needs ("totp", "totp_enrol", "password") or "ok".
    """

    __tablename__ = "console_sessions"
    __table_args__ = (Index("ix_console_sessions_staff", "staff_id"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    staff_id: Mapped[int] = mapped_column(Id, ForeignKey("staff.id", ondelete="CASCADE"))
    stage: Mapped[str] = mapped_column(String(16))
    csrf: Mapped[str] = mapped_column(String(64))
    pending_totp_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    flash: Mapped[str | None] = mapped_column(String(512))  # why the last action was refused
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]


class LoginFailure(Base):
    """One failed login step, kept for the throttle window: by client address and by a hash
    of the email typed (the same for known and unknown accounts)."""

    __tablename__ = "login_failures"
    __table_args__ = (
        Index("ix_login_failures_ip", "ip", "at"),
        Index("ix_login_failures_account", "account", "at"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    ip: Mapped[str] = mapped_column(String(64))
    account: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class CannedReply(Base):
    """A suggested reply in one language, edited by admins; seeded from `console.canned.*`."""

    __tablename__ = "canned_replies"
    __table_args__ = (UniqueConstraint("key", "language"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    key: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(8))
    text: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Case(Base):
    """An escalated conversation that a person from the hotline answers."""

    __tablename__ = "cases"
    __table_args__ = (
        Index("ix_cases_queue", "status", "priority", "waiting_since"),
        # Every turn looks up its sender's active case: without it, a scan of all cases.
        Index("ix_cases_user", "user_id", "id"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    user_id: Mapped[int | None] = mapped_column(Id, ForeignKey("users.id", ondelete="SET NULL"))
    channel: Mapped[str] = mapped_column(String(16))
    language: Mapped[str | None] = mapped_column(String(8))
    country: Mapped[str | None] = mapped_column(String(2))
    priority: Mapped[str] = mapped_column(String(16), default="normal")
    trigger: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="open")
    labels: Mapped[list] = mapped_column(default=list)
    # Distress indicators (bot.vocabulary.Indicator values) the bot heard; staff labels stay apart.
    indicators: Mapped[list] = mapped_column(default=list, server_default="[]")
    assignee_id: Mapped[int | None] = mapped_column(Id, ForeignKey("staff.id"))
    snoozed_until: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(32))
    flow_path: Mapped[list] = mapped_column(default=list)
    user_notified: Mapped[bool] = mapped_column(Boolean, default=False)
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    waiting_since: Mapped[datetime | None] = mapped_column(default=utcnow)
    first_response_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    # The person's side of the hand-over (issue 11): when the bot last told them a person
    # will answer, and when supervisors were last alerted that nobody had.
    acked_at: Mapped[datetime | None]
    alerted_at: Mapped[datetime | None]

    messages: Mapped[list[CaseMessage]] = relationship(
        back_populates="case", order_by="CaseMessage.id", cascade="all, delete-orphan"
    )


class CaseMessage(Base):
    """One line of a case transcript; text is encrypted with DATA_KEY."""

    __tablename__ = "case_messages"
    __table_args__ = (Index("ix_case_messages_case", "case_id", "id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    case_id: Mapped[int] = mapped_column(Id, ForeignKey("cases.id", ondelete="CASCADE"))
    direction: Mapped[str] = mapped_column(String(8))  # "in", "tap", "bot", "staff"
    text_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    original_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    staff_id: Mapped[int | None] = mapped_column(Id, ForeignKey("staff.id"))
    outbox_id: Mapped[int | None] = mapped_column(Id, ForeignKey("outbox.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    case: Mapped[Case] = relationship(back_populates="messages")


class Alert(Base):
    """Something supervisors must see: an urgent case nobody answered in time.

    The console lists unacknowledged alerts; `acknowledged_*` records who saw one. No text.
    """

    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_open", "acknowledged_at", "created_at"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))  # "urgent_unanswered"
    case_id: Mapped[int] = mapped_column(Id, ForeignKey("cases.id", ondelete="CASCADE"))
    language: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by: Mapped[int | None] = mapped_column(Id, ForeignKey("staff.id"))


class CaseNote(Base):
    __tablename__ = "case_notes"
    __table_args__ = (Index("ix_case_notes_case", "case_id", "id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    case_id: Mapped[int] = mapped_column(Id, ForeignKey("cases.id", ondelete="CASCADE"))
    staff_id: Mapped[int] = mapped_column(Id, ForeignKey("staff.id"))
    text_enc: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditEntry(Base):
    """Append-only: the application never updates or deletes these rows."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_at", "at"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    staff_id: Mapped[int | None] = mapped_column(Id, ForeignKey("staff.id"))
    action: Mapped[str] = mapped_column(String(32))
    case_id: Mapped[int | None] = mapped_column(Id)
    detail: Mapped[str | None] = mapped_column(String(512))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class Agency(Base):
    """One row of an official (or sample) licence list snapshot."""

    __tablename__ = "agencies"
    __table_args__ = (
        UniqueConstraint("country", "source", "licence_key"),
        Index("ix_agencies_licence", "licence_key"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    country: Mapped[str] = mapped_column(String(2))
    licence_number: Mapped[str] = mapped_column(String(64))
    licence_key: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(256))
    aliases: Mapped[list] = mapped_column(default=list)
    status: Mapped[str] = mapped_column(String(16))
    valid_until: Mapped[date | None] = mapped_column(Date)
    authority: Mapped[str] = mapped_column(String(256))
    address: Mapped[str | None] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(String(64))
    destinations: Mapped[list] = mapped_column(default=list)
    source: Mapped[str] = mapped_column(String(256))
    retrieved: Mapped[date] = mapped_column(Date)
    is_sample: Mapped[bool] = mapped_column(Boolean, default=False)


class Hotline(Base):
    __tablename__ = "hotlines"
    __table_args__ = (Index("ix_hotlines_country", "country", "purpose"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    country: Mapped[str] = mapped_column(String(2))
    purpose: Mapped[str] = mapped_column(String(32))
    number: Mapped[str] = mapped_column(String(64))
    organization: Mapped[str] = mapped_column(String(256))
    hours: Mapped[str | None] = mapped_column(String(128))
    languages: Mapped[list] = mapped_column(default=list)
    source: Mapped[str] = mapped_column(String(512))
    verified: Mapped[date | None] = mapped_column(Date)
    confidence: Mapped[str | None] = mapped_column(String(8))
    # The corridor directory: whose embassy, which district, where and when it was found, and
    # whether users may see it ("unverified" rows are for staff and coverage only).
    serves: Mapped[str | None] = mapped_column(String(2))
    area: Mapped[str | None] = mapped_column(String(128))
    source_url: Mapped[str | None] = mapped_column(String(512))
    retrieved: Mapped[date | None] = mapped_column(Date)
    listing: Mapped[str] = mapped_column(String(16), default="public", server_default="public")


class PseudonymKey(Base):
    """A reporting period's HMAC key; destroying `secret` makes its keys unlinkable forever."""

    __tablename__ = "pseudonym_keys"

    version: Mapped[str] = mapped_column(String(16), primary_key=True)
    secret_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    destroyed_at: Mapped[datetime | None]


class AnalyticsEvent(Base):
    """One handled interaction. No text, no platform id, no link to `users`."""

    __tablename__ = "analytics_events"
    __table_args__ = (
        Index("ix_analytics_month_resource", "month", "resource"),
        Index("ix_analytics_user_key", "user_key"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    user_key: Mapped[str] = mapped_column(String(64))
    key_version: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(16))
    language: Mapped[str | None] = mapped_column(String(8))
    country: Mapped[str | None] = mapped_column(String(2))
    intent: Mapped[str | None] = mapped_column(String(32))
    flow: Mapped[str | None] = mapped_column(String(64))
    step: Mapped[str | None] = mapped_column(String(64))
    resource: Mapped[str | None] = mapped_column(String(96))
    month: Mapped[str] = mapped_column(String(7))
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)


class AnalyticsMonthly(Base):
    """The monthly roll-up the indicator report reads: one row per user, resource and cell.

    Kept in step with `analytics_events` on every write, so the report counts distinct keys
    over a few rows per user and month instead of every raw event. Unknown language or
    country is "" (part of the primary key).
    """

    __tablename__ = "analytics_monthly"
    __table_args__ = (Index("ix_analytics_monthly_user_key", "user_key"),)

    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    resource: Mapped[str] = mapped_column(String(96), primary_key=True)
    user_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    language: Mapped[str] = mapped_column(String(8), primary_key=True)
    country: Mapped[str] = mapped_column(String(2), primary_key=True)
    interactions: Mapped[int] = mapped_column(Integer, default=0)


class IndicatorMember(Base):
    """A key counted once in a set: inserted with ON CONFLICT DO NOTHING with each event.

    Only a new row bumps `indicator_counts`, so the report reads counters, not keys. Sets:
    dimension "" a month's family (family "*": any family), with the `sex` the counters hold
    for the key, so a changed answer moves exactly its counts; "channel", "language" or
    "country" a month's cell (value "" unknown); "year" the reporting year (named by its
    first month) of a family, for year-to-date users.
    """

    __tablename__ = "indicator_members"
    __table_args__ = (Index("ix_indicator_members_user_key", "user_key"),)

    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    family: Mapped[str] = mapped_column(String(32), primary_key=True)
    dimension: Mapped[str] = mapped_column(String(16), primary_key=True)
    value: Mapped[str] = mapped_column(String(16), primary_key=True)
    user_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    sex: Mapped[str | None] = mapped_column(String(16))


class IndicatorCount(Base):
    """The counters the report reads: unique users (and interactions) per month and family.

    `dimension` "" is the family's total; "sex", "channel", "language", "country" a breakdown;
    "new" the users first seen in the family that reporting year, in that month. A figure is
    the sum over `shard`s (picked by key), so concurrent turns of different people seldom wait
    on the same counter row.
    """

    __tablename__ = "indicator_counts"

    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    family: Mapped[str] = mapped_column(String(32), primary_key=True)
    dimension: Mapped[str] = mapped_column(String(16), primary_key=True)
    value: Mapped[str] = mapped_column(String(16), primary_key=True)
    shard: Mapped[int] = mapped_column(Integer, primary_key=True)
    users: Mapped[int] = mapped_column(Integer, default=0)
    interactions: Mapped[int] = mapped_column(Integer, default=0)


class IndicatorState(Base):
    """The one row saying which family mapping and year start the counters were built for.

    A write under another configuration removes it; the next report then rebuilds.
    """

    __tablename__ = "indicator_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    config: Mapped[str] = mapped_column(String(16))
    built_at: Mapped[datetime] = mapped_column(default=utcnow)


class Demographic(Base):
    """Self-reported sex, stored against the pseudonymous key only."""

    __tablename__ = "demographics"

    user_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    key_version: Mapped[str] = mapped_column(String(16))
    sex: Mapped[str] = mapped_column(String(16), default="not_stated")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
