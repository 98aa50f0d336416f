"""The flow engine: one turn in, replies out. It knows roles and steps, never topics.

Order of precedence for typed text: stop / quick-erase / delete words, then the hand-over
rules of an active case, then distress by risk (urgent danger and a minor at once; a concern
after the privacy notice, unless the text was pasted to be checked), then the step waiting for
an answer (unless the text is a new request), then intents, then the fallback ("did you mean",
and after two misses the menu and a person).
"""

from __future__ import annotations

import logging
import unicodedata
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import regex
from sqlalchemy.orm import Session

from bot.db.models import Case, Conversation, User
from bot.dialogue.actions import ACTIONS, ActionContext
from bot.dialogue.base import (
    CaseAcknowledged,
    CaseLine,
    ConversationSaved,
    Effect,
    Interaction,
    Response,
    Stored,
    Turn,
    language_from_platform,
)
from bot.dialogue.flows import ChoiceSpec, Escalation, FlowSet, Step, parse_payload, payload_of
from bot.dialogue.i18n import Translator
from bot.messages import Button, Choice, Reply
from bot.services import cases
from bot.services.handover import Team, due_acknowledgement
from bot.understanding.base import LANGUAGES, Parse
from bot.understanding.entities import country_finder, phrase_pattern, with_found_entities
from bot.vocabulary import Indicator, Risk

log = logging.getLogger(__name__)

MAX_CHAIN = 25  # steps one turn may pass through; a loop in the data must not hang a worker
MAX_PATH = 30
# What survives a change of topic: where the person is, and the distress indicators heard in
# this conversation (any case opened later carries them).
KEEP_SLOTS = ("country", "indicators")
_PUNCTUATION = regex.compile(r"[\p{P}\p{S}\s]+")


@dataclass
class _Turn:
    """Everything one turn accumulates before it is committed."""

    user: User
    conversation: Conversation
    turn: Turn
    language: str
    replies: list[Reply] = field(default_factory=list)
    effects: list[Effect] = field(default_factory=list)
    resources: list[str] = field(default_factory=list)
    choices: list[Choice] = field(default_factory=list)
    buttons: list[Button] = field(default_factory=list)
    intent: str | None = None
    case: Case | None = None  # the person's active case (looked up once, or opened this turn)
    transcribed: bool = False
    forgotten: bool = False  # the user's data was deleted this turn: keep nothing more
    untracked: bool = False  # a stop word: no interaction to count

    @property
    def slots(self) -> dict[str, Any]:
        return self.conversation.slots


class Engine:
    def __init__(
        self,
        flows: FlowSet,
        translator: Translator,
        *,
        timeout_minutes: int,
        default_language: str,
        team: Team | None = None,
    ) -> None:
        self.flows = flows
        self.t = translator
        self.timeout = timedelta(minutes=timeout_minutes)
        # Loaded now, not by the first turns after a start: eight threads at once would each
        # parse the gazetteer while the first people to write wait.
        country_finder()
        self.default_language = default_language
        self.team = team or Team()
        # A tap's title as the person saw it, for the case transcript (payloads carry none).
        self._titles = {
            payload_of(c.target, c.params): c.title
            for step in flows.steps.values()
            for c in step.choices
        }
        self._words = {name: self._word_set(key) for name, key in flows.words.items()}
        self._question_words = [
            phrase_pattern(word.casefold())
            for text in self.t.values(flows.words.get("question", "")).values()
            for word in text.split("|")
            if word.strip()
        ]
        # Steps that start a topic: arriving there starts afresh, whatever was asked before.
        self._entries = {route.target for route in flows.routes.values()}

    # ---- the Dialogue protocol ----------------------------------------------------------

    def welcome(self, language: str | None) -> Reply:
        """Greeting and language choice in one message (Viber shows it before any turn)."""
        language = language if language in LANGUAGES else self.default_language
        texts: list[str] = []
        choices: tuple[Choice, ...] = ()
        target: str | None = self.flows.roles["first_contact"]
        while target:
            step = self.flows.steps[target]
            texts += [self._text(m.keys, language, {}) for m in step.say]
            choices = tuple(self._choice(c, language) for c in step.choices) or choices
            target = step.next
        return Reply(text="\n\n".join(texts), choices=choices)

    def respond(
        self, session: Session, user: User, turn: Turn, stored: Stored | None = None
    ) -> Response:
        row, case = stored if stored is not None else cases.conversation_and_case(session, user)
        if row is not None:
            # Worked on out of the session and saved whole as an effect (`ConversationSaved`):
            # the session's unit of work cost more than the row.
            session.expunge(row)
        conversation = self._conversation(user, turn, row)
        language = (
            user.language
            or (turn.parse.lang if turn.parse else None)
            or language_from_platform(user.platform_language)
            or self.default_language
        )
        ctx = _Turn(user, conversation, turn, language, case=case)
        if turn.kind == "text":
            self._on_text(session, ctx, turn.parse or _unparsed(turn.text or ""))
        elif turn.kind == "payload":
            self._on_payload(session, ctx, turn.payload or "")
        elif turn.kind == "attachment":
            self._run(session, ctx, self.flows.roles["attachment"])
        elif turn.kind == "case_overdue":
            self._overdue(session, ctx)
        else:  # start, subscribed: someone opened the chat
            self._first_contact(ctx)
            self._run(session, ctx, self.flows.roles["first_contact"])
        self._finish(ctx)
        return Response(ctx.replies, ctx.effects, None if ctx.forgotten else ctx.case)

    # ---- turn kinds ---------------------------------------------------------------------

    def _on_text(self, session: Session, ctx: _Turn, parse: Parse) -> None:
        ctx.intent = parse.intent
        word = self._keyword(parse.normalized)
        if word == "stop":
            # Opted out: nothing more goes out until they write again (the pipeline clears it).
            ctx.user.opted_out = True
            ctx.untracked = True
            return
        if word == "quick_erase":
            self._run(session, ctx, self.flows.roles["quick_erase"])
            return
        distress = _distress(parse)
        self._hear(ctx, parse)
        case = ctx.case
        if case is not None:
            cases.add_indicators(case, parse.indicators)
            self._during_case(session, ctx, case, parse, distress, delete=word == "delete")
            return
        first = self._first_contact(ctx, parse.lang)
        if word == "delete":
            self._run(session, ctx, self.flows.roles["delete"])
            return
        if distress in ("urgent", "minor"):
            ctx.intent = "urgent_help"
            self._enter(session, ctx, self.flows.roles[distress], parse)
            return
        confident = parse.intent in self.flows.routes and self._sure(parse)
        if first:
            ordinary = not confident or parse.intent in ("greet", "menu", "choose_language")
            if ordinary and distress is None:
                self._run(session, ctx, self.flows.roles["first_contact"])
                return
            self._run(session, ctx, self.flows.roles["privacy_notice"])
        step = self._current(ctx)
        # A message pasted to be checked (a job ad) is material, not the writer's situation:
        # only danger outranks the check.
        pasted = step is not None and step.ask is not None and step.ask.kind == "message"
        if distress == "concern" and not pasted:
            problem = {"problem": str(parse.indicators[0])} if parse.indicators else {}
            self._enter(session, ctx, self.flows.roles["concern"], parse, problem)
            return
        if step and step.ask and not (confident and self._new_request(step, parse)):
            self._answer(session, ctx, step, parse)
            return
        choice = self._typed_choice(step, parse)
        if choice is not None:
            self._tap(session, ctx, choice.target, dict(choice.params))
            return
        if confident:
            self._enter(session, ctx, self.flows.routes[parse.intent].target, parse)
            return
        self._miss(session, ctx, parse)

    def _during_case(
        self,
        session: Session,
        ctx: _Turn,
        case: Case,
        parse: Parse,
        distress: str | None,
        *,
        delete: bool,
    ) -> None:
        """A person holds the conversation: keep the words for them, and don't leave silence.

        Urgent words (and a minor) still get the numbers at once, upgrading the case; "delete"
        still deletes (and its yes/no is heard); "menu" shows the menu, the case staying open; a
        question the flow asked on purpose during the case (the country for urgent numbers) is
        answered. Anything else is acknowledged (a person will answer, the wait, the hours) when
        one is due.
        """
        ctx.case = case
        self._transcribe(ctx, parse)
        step = self._current(ctx)
        choice = self._typed_choice(step, parse)
        if distress in ("urgent", "minor"):
            ctx.intent = "urgent_help"
            self._enter(session, ctx, self.flows.roles[distress], parse)
        elif delete:
            self._run(session, ctx, self.flows.roles["delete"])
        elif choice is not None:
            self._tap(session, ctx, choice.target, dict(choice.params))
        elif step and step.ask and step.ask.during_case:
            self._answer(session, ctx, step, parse)
        elif parse.intent == "menu" and parse.confidence >= self.flows.act_confidence:
            self._tap(session, ctx, self.flows.roles["case_menu"], {})
        else:
            self._acknowledge(session, ctx, case)

    def _acknowledge(self, session: Session, ctx: _Turn, case: Case) -> None:
        now = ctx.turn.received_at
        staff_reply = cases.last_staff_reply(session, case)
        if due_acknowledgement(case, staff_reply, now, interval=self.team.ack_interval):
            ctx.effects.append(CaseAcknowledged(case.id, now))
            self._run(session, ctx, self.flows.roles["case_waiting"])

    def _overdue(self, session: Session, ctx: _Turn) -> None:
        """Nobody answered an urgent case in time (a scheduled job's nudge, not the person):
        say sorry and what to do meanwhile. Not an interaction to count."""
        ctx.untracked = True
        if ctx.case is not None:
            self._run(session, ctx, self.flows.roles["case_overdue"])

    def _on_payload(self, session: Session, ctx: _Turn, payload: str) -> None:
        target, params = parse_payload(payload)
        if target not in self.flows.steps:
            log.info("unknown payload target %r; showing the menu", target)
            target, params = self.flows.roles["menu"], {}
        ctx.intent = self.flows.route_for(target)
        self._first_contact(ctx)
        self._transcribe(ctx)
        self._tap(session, ctx, target, params)

    # ---- moving through steps -----------------------------------------------------------

    def _tap(self, session: Session, ctx: _Turn, target: str, params: dict[str, str]) -> None:
        if target.split(".")[0] != ctx.conversation.flow or target in self._entries:
            self._reset_slots(ctx)
        for name, value in params.items():
            self._set_slot(ctx, name, value)
        ctx.conversation.misses = 0
        self._run(session, ctx, target)

    def _enter(
        self,
        session: Session,
        ctx: _Turn,
        target: str,
        parse: Parse,
        values: dict[str, str] | None = None,
    ) -> None:
        """Start a topic from typed text: fresh slots, filled from the message's entities
        (a country or licence number written in the sentence counts too) and `values`."""
        self._reset_slots(ctx)
        route = self.flows.routes.get(parse.intent)
        mapping = dict(route.entities) if route and route.target == target else {}
        for name, value in (values or {}).items():
            self._set_slot(ctx, name, value)
        for entity in with_found_entities(parse):
            if entity.entity == "country":
                self._set_slot(ctx, "country", entity.value)
            if entity.entity in mapping:
                self._set_slot(ctx, mapping[entity.entity], entity.value)
        ctx.conversation.misses = 0
        self._run(session, ctx, target)

    def _run(self, session: Session, ctx: _Turn, target: str | None) -> None:
        for _ in range(MAX_CHAIN):
            if target is None:
                return
            step = self.flows.steps[target]
            if step.skip_if and ctx.slots.get(step.skip_if[0]):
                target = step.skip_if[1]
                continue
            if step.action:
                target = self._act(session, ctx, step)
                continue
            if step.escalate:
                self._escalate(session, ctx, step.escalate)
            self._say(ctx, step)
            if step.resource:
                ctx.resources.append(step.resource.format_map(_Values(ctx.slots)))
            if not step.keep_state and not ctx.forgotten:
                self._move(ctx, step)
            if step.end and not ctx.forgotten:
                ctx.conversation.flow = ctx.conversation.step = None
            target = step.next
        else:
            log.error("flow chain too long at %s; stopping", target)

    def _act(self, session: Session, ctx: _Turn, step: Step) -> str:
        action = ACTIONS[step.action or ""]
        outcome = action.run(
            ActionContext(
                session=session,
                user=ctx.user,
                slots=ctx.slots,
                language=ctx.language,
                now=ctx.turn.received_at,
                t=self.t,
                team=self.team,
                text=ctx.turn.parse.normalized if ctx.turn.parse else "",
            )
        )
        if step.action in ("delete_data", "quick_erase"):
            ctx.forgotten, ctx.case = True, None  # their case went with the rest
        # Values become slots: a later tap ("none of these") still has the list's date.
        ctx.conversation.slots = {**ctx.slots, **outcome.values}
        ctx.choices, ctx.buttons = outcome.choices, outcome.buttons
        return dict(step.on)[outcome.name]

    def _say(self, ctx: _Turn, step: Step) -> None:
        messages = [m for m in step.say if not m.when or ctx.slots.get(m.when)]
        values = {k: str(v) for k, v in ctx.slots.items()}
        choices = [self._choice(c, ctx.language) for c in step.choices]
        if step.dynamic_choices:
            choices = ctx.choices + choices
        for index, message in enumerate(messages):
            last = index == len(messages) - 1
            ctx.replies.append(
                Reply(
                    text=self._text(message.keys, ctx.language, values),
                    choices=tuple(choices) if last else (),
                    buttons=tuple(ctx.buttons) if message.buttons else (),
                )
            )

    def _move(self, ctx: _Turn, step: Step) -> None:
        conversation = ctx.conversation
        conversation.flow, conversation.step = step.flow, step.id.split(".", 1)[1]
        conversation.path = [*conversation.path, step.id][-MAX_PATH:]

    def _answer(self, session: Session, ctx: _Turn, step: Step, parse: Parse) -> None:
        """The user answered the step's question: fill the slot, or ask again."""
        ask = step.ask
        assert ask is not None
        found = {e.entity: e.value for e in reversed(with_found_entities(parse))}
        text = parse.normalized.strip()[:200] or None
        value = {
            "country": found.get("country"),
            "agency": found.get("licence_number") or text,
            # The next step's action reads this turn's text; the slot only says it came.
            "message": "yes" if text else None,
        }.get(ask.kind, text)
        if value:
            self._set_slot(ctx, ask.slot, value)
            ctx.conversation.misses = 0
            self._run(session, ctx, ask.next)
            return
        ctx.conversation.misses += 1
        if ctx.conversation.misses >= 2:
            self._miss(session, ctx, parse)
            return
        choices = tuple(self._choice(c, ctx.language) for c in step.choices)
        ctx.replies.append(Reply(self.t(ask.reprompt, ctx.language), choices=choices))

    def _new_request(self, step: Step, parse: Parse) -> bool:
        """Whether a confident intent typed at a question asks something else (a question
        about a card, a visa, a fee) rather than answering it. A licence number at the agency
        question is always an answer; question words are `words.question` in each locale."""
        ask = step.ask
        assert ask is not None
        if parse.intent in ask.intents or parse.intent in self.flows.answers:
            return False
        if parse.intent in self.flows.commands:
            return True
        found = {e.entity for e in with_found_entities(parse)}
        if ask.kind == "agency" and "licence_number" in found:
            return False
        # A bare name or country is an answer even when it reads like a topic ("Nowhere Jobs
        # Ltd" is not a question about job offers): only a question asks something else.
        if ask.kind == "agency" or (ask.kind == "country" and "country" in found):
            return self._is_question(parse.normalized)
        return True

    def _is_question(self, text: str) -> bool:
        folded = unicodedata.normalize("NFC", text).casefold()
        return any(p.search(folded) for p in self._question_words)

    def _miss(self, session: Session, ctx: _Turn, parse: Parse) -> None:
        ctx.intent = parse.intent
        ctx.conversation.misses += 1
        if ctx.conversation.misses >= 2:
            ctx.conversation.misses = 0
            self._run(session, ctx, self.flows.roles["missed_twice"])
            return
        suggestions = [
            intent
            for intent, score in parse.ranking
            if intent in self.flows.suggestable and score >= self.flows.suggest_confidence
        ][:3]
        if not suggestions:
            self._run(session, ctx, self.flows.roles["missed"])
            return
        ctx.choices = [
            Choice(self.t(f"intent.{i}", ctx.language), self.flows.routes[i].target)
            for i in suggestions
        ]
        self._run(session, ctx, self.flows.roles["did_you_mean"])

    # ---- cases, state, analytics --------------------------------------------------------

    def _escalate(self, session: Session, ctx: _Turn, escalation: Escalation) -> None:
        case = cases.open_or_upgrade(
            session,
            ctx.user,
            ctx.case,
            priority=escalation.priority,
            trigger=escalation.trigger,
            flow_path=list(ctx.conversation.path),
            indicators=ctx.slots.get("indicators") or (),
        )
        ctx.case = case
        if not escalation.keep_text:
            ctx.transcribed = True  # the person's message of this turn is not kept
        else:
            self._transcribe(ctx, ctx.turn.parse)

    def _transcribe(self, ctx: _Turn, parse: Parse | None = None) -> None:
        """What the person wrote, or the title of what they tapped, goes to their case."""
        if ctx.transcribed or ctx.case is None:
            return
        turn = ctx.turn
        if turn.kind == "payload" and turn.payload:
            line = CaseLine(ctx.case.id, "tap", self._tap_title(ctx, turn.payload))
        elif turn.kind == "text":
            parse = parse or _unparsed(turn.text or "")
            original = parse.text if parse.was_zawgyi else None
            line = CaseLine(ctx.case.id, "in", parse.normalized, original)
        else:
            return
        ctx.effects.append(line)
        ctx.transcribed = True

    def _tap_title(self, ctx: _Turn, payload: str) -> str:
        """The button's title in the person's language; the step they were at decides first
        (the same payload can carry different titles), a dynamic choice shows its payload."""
        step = self._current(ctx)
        shown = {payload_of(c.target, c.params): c.title for c in step.choices} if step else {}
        key = shown.get(payload) or self._titles.get(payload)
        return self.t(key, ctx.language) if key else payload

    def _finish(self, ctx: _Turn) -> None:
        # A tap during a case (the urgent numbers) belongs to the case too.
        case = None if ctx.forgotten else ctx.case
        if case is not None:
            if ctx.user.country and case.country is None:
                # Staff see where the person is as soon as they tell us (often after it opened).
                case.country = ctx.user.country
            # Staff see what the bot already told the person.
            ctx.effects += [CaseLine(case.id, "bot", reply.text) for reply in ctx.replies]
        if ctx.forgotten:
            ctx.effects = []  # their case lines and their conversation were erased with the rest
            return
        conversation = ctx.conversation
        conversation.updated_at = ctx.turn.received_at
        ctx.effects.append(
            ConversationSaved(
                user_id=ctx.user.id,
                flow=conversation.flow,
                step=conversation.step,
                slots=conversation.slots,
                path=conversation.path,
                misses=conversation.misses,
                updated_at=conversation.updated_at,
            )
        )
        if ctx.untracked:
            return
        ctx.effects += [
            Interaction(ctx.intent, conversation.flow, conversation.step, resource)
            for resource in ctx.resources or (None,)
        ]

    def _conversation(
        self, user: User, turn: Turn, conversation: Conversation | None
    ) -> Conversation:
        if conversation is None:
            conversation = Conversation(user_id=user.id, slots={}, path=[], misses=0)
        elif conversation.updated_at and turn.received_at - conversation.updated_at > self.timeout:
            # Inactive too long: whatever was asked is stale; the next message starts afresh.
            conversation.flow = conversation.step = None
            conversation.slots, conversation.path, conversation.misses = {}, [], 0
        if user.country and "country" not in conversation.slots:
            conversation.slots = {**conversation.slots, "country": user.country}
        return conversation

    def _first_contact(self, ctx: _Turn, detected: str | None = None) -> bool:
        """Settle a first language for someone new; True when this is their first turn."""
        if ctx.user.language:
            return False
        ctx.user.language = ctx.language if ctx.language in LANGUAGES else self.default_language
        if detected in LANGUAGES:
            ctx.user.language = ctx.language = detected
        return True

    def _sure(self, parse: Parse) -> bool:
        """Sure enough to act on the intent: above `act`, or a clear winner (above `clear` and
        `lead` times the next intent: a model unsure only between labels of one intent)."""
        if parse.confidence >= self.flows.act_confidence:
            return True
        runner_up = max((p for i, p in parse.ranking if i != parse.intent), default=0.0)
        return (
            parse.confidence >= self.flows.clear_confidence
            and parse.confidence >= self.flows.clear_lead * runner_up
        )

    def _typed_choice(self, step: Step | None, parse: Parse) -> ChoiceSpec | None:
        """A choice answered by typing ("yes", "no") instead of tapping."""
        if step is None or parse.confidence < self.flows.act_confidence:
            return None
        return next((c for c in step.choices if parse.intent in c.intents), None)

    def _current(self, ctx: _Turn) -> Step | None:
        conversation = ctx.conversation
        if not conversation.flow or not conversation.step:
            return None
        return self.flows.steps.get(f"{conversation.flow}.{conversation.step}")

    def _hear(self, ctx: _Turn, parse: Parse) -> None:
        """Remember the distress indicators of this message for the rest of the conversation."""
        if parse.indicators:
            heard = cases.merged_indicators(ctx.slots.get("indicators") or (), parse.indicators)
            ctx.conversation.slots = {**ctx.slots, "indicators": heard}

    def _reset_slots(self, ctx: _Turn) -> None:
        ctx.conversation.slots = {k: v for k, v in ctx.slots.items() if k in KEEP_SLOTS}

    def _set_slot(self, ctx: _Turn, name: str, value: str) -> None:
        """Set a slot (reassigning the JSON so it is saved); `lang` and `country` are the user's."""
        if name == "lang":
            if value in LANGUAGES:
                ctx.user.language = ctx.language = value
            return
        if name == "country":
            value = value.upper()
            ctx.user.country = value if len(value) == 2 else ctx.user.country
        ctx.conversation.slots = {**ctx.slots, name: value}

    # ---- text helpers -------------------------------------------------------------------

    def _text(self, keys: tuple[str, ...], language: str, values: dict[str, str]) -> str:
        return "\n\n".join(self.t(key, language, **values) for key in keys)

    def _choice(self, spec: ChoiceSpec, language: str) -> Choice:
        return Choice(self.t(spec.title, language), payload_of(spec.target, spec.params))

    def _word_set(self, key: str) -> set[str]:
        return {
            _fold(word)
            for text in self.t.values(key).values()
            for word in text.split("|")
            if _fold(word)
        }

    def _keyword(self, text: str) -> str | None:
        """A whole message that is one of the special words, in any language."""
        folded = _fold(text)
        return next((name for name, words in self._words.items() if folded in words), None)


class _Values(dict[str, Any]):
    """Slots and action values for `resource` templates; unknown names read as "unknown"."""

    def __init__(self, slots: dict[str, Any]) -> None:
        super().__init__(slots)

    def __missing__(self, key: str) -> str:
        return "unknown"


def _fold(text: str) -> str:
    return _PUNCTUATION.sub("", unicodedata.normalize("NFC", text)).casefold()


def _distress(parse: Parse) -> str | None:
    """The engine role that answers the message's distress, if any.

    A minor gets the child helpline whatever the risk (recruiting a child is trafficking
    whatever the consent); `urgent` is honoured as well as `risk` for classifiers that only
    set the flag.
    """
    if Indicator.MINOR in parse.indicators:
        return "minor"
    if parse.risk is Risk.URGENT or parse.urgent:
        return "urgent"
    if parse.risk is Risk.CONCERN:
        return "concern"
    return None


def _unparsed(text: str) -> Parse:
    return Parse(text=text, normalized=text, lang=None, intent="out_of_scope", confidence=0.0)
