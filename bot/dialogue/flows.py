"""Flows as data: load `flows/*.yml` into steps, and say everything wrong with them.

A flow file is `{flow: name, steps: {step: {...}}}`; `system.yml` maps intents and engine
roles to steps. Targets are "step" (same flow) or "flow.step". Step fields:

- `say`: messages; each item a locale key, a list of keys (one message), or
  `{say: key|[keys], if: var, buttons: true}` (sent only when `var` is set; carries the
  action's call buttons)
- `choices`: `{title: key, goto: target, with: {slot: value}, intents: [affirm]}`; a
  tap carries the payload "flow.step|slot=value", so it needs no NLU
- `dynamic_choices: true`: the action's choices come first (did-you-mean lists)
- `ask`: `{slot, kind: text|country|agency|message, reprompt: key, next: target,
  during_case: bool, intents: [...]}`; text that reads as another request (a confident intent
  with a route, not one of `intents` nor the system's `answers`) is handled as that request
  instead (`agency`: a licence number in the text, else the text; `country`: the country
  named; `message` keeps no text: the next action reads the turn's text, e.g. a pasted job ad)
- `action` + `branches: {outcome: target}`: call a service (see `actions.py`)
- `escalate: {priority, trigger, keep_text}`: open (or upgrade) a case for a person to
  answer; `keep_text: false` leaves this turn's message out of the transcript (the privacy
  notice promises text is kept only when the person asked for someone)
- `skip_if: {slot, goto}`, `next`, `end`, `keep_state` (never moves the conversation),
  `resource` (analytics, `{var}` templates), `external` (reached by payloads built in code)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.settings import ROOT

FLOWS = ROOT / "flows"
ASK_KINDS = ("text", "country", "agency", "message")
SYSTEM_FILE = "system.yml"
ROLES = (
    "first_contact",
    "privacy_notice",
    "menu",
    "attachment",
    "case_waiting",
    "case_menu",
    "case_overdue",
    "urgent",
    "concern",
    "minor",
    "did_you_mean",
    "missed",
    "missed_twice",
    "quick_erase",
    "delete",
)
WORDS = ("stop", "quick_erase", "delete")


class FlowError(ValueError):
    """A flow file that cannot be read at all."""


@dataclass(frozen=True)
class Message:
    keys: tuple[str, ...]
    when: str | None = None
    buttons: bool = False


@dataclass(frozen=True)
class ChoiceSpec:
    title: str
    target: str
    params: tuple[tuple[str, str], ...] = ()
    intents: tuple[str, ...] = ()


@dataclass(frozen=True)
class Ask:
    slot: str
    kind: str
    reprompt: str
    next: str
    during_case: bool = False
    intents: tuple[str, ...] = ()  # intents that still answer the question


@dataclass(frozen=True)
class Escalation:
    priority: str
    trigger: str
    keep_text: bool = True


@dataclass(frozen=True)
class Step:
    id: str
    say: tuple[Message, ...] = ()
    choices: tuple[ChoiceSpec, ...] = ()
    dynamic_choices: bool = False
    ask: Ask | None = None
    action: str | None = None
    on: tuple[tuple[str, str], ...] = ()
    escalate: Escalation | None = None
    skip_if: tuple[str, str] | None = None
    next: str | None = None
    end: bool = False
    keep_state: bool = False
    resource: str | None = None
    external: bool = False

    @property
    def flow(self) -> str:
        return self.id.split(".", 1)[0]

    def targets(self) -> list[str]:
        found = [c.target for c in self.choices] + [t for _, t in self.on]
        found += [t for t in (self.next, self.ask and self.ask.next) if t]
        if self.skip_if:
            found.append(self.skip_if[1])
        return found


@dataclass(frozen=True)
class Route:
    target: str
    entities: tuple[tuple[str, str], ...] = ()


@dataclass
class FlowSet:
    steps: dict[str, Step] = field(default_factory=dict)
    roles: dict[str, str] = field(default_factory=dict)
    routes: dict[str, Route] = field(default_factory=dict)
    answers: tuple[str, ...] = ()  # intents that never replace the answer to a question
    commands: tuple[str, ...] = ()  # intents that always replace it, question or not
    suggestable: tuple[str, ...] = ()
    words: dict[str, str] = field(default_factory=dict)
    act_confidence: float = 0.6
    clear_confidence: float = 1.0  # with `clear_lead`: act below `act` on a clear winner
    clear_lead: float = 1.0
    suggest_confidence: float = 0.2
    countries: tuple[str, ...] = ()
    problems: list[str] = field(default_factory=list)

    def route_for(self, target: str) -> str | None:
        """The intent whose route leads to `target` (for analytics on taps)."""
        return next((i for i, r in self.routes.items() if r.target == target), None)


def load(directory: Path = FLOWS) -> FlowSet:
    """Read every flow; structural problems are collected in `problems`, not raised."""
    flows = FlowSet()
    for path in sorted(directory.glob("*.yml")):
        data = _read(path)
        if path.name == SYSTEM_FILE:
            _system(flows, data, path.name)
            continue
        name = data.get("flow")
        if not isinstance(name, str) or not isinstance(data.get("steps"), dict):
            flows.problems.append(f"{path.name}: needs `flow: name` and a `steps:` mapping")
            continue
        for step_name, spec in data["steps"].items():
            step_id = f"{name}.{step_name}"
            try:
                flows.steps[step_id] = _step(name, step_id, spec or {})
            except (TypeError, ValueError, KeyError, AttributeError) as exc:
                flows.problems.append(f"{path.name}: step {step_name}: {exc}")
    return flows


def qualify(flow: str, target: str) -> str:
    return target if "." in target else f"{flow}.{target}"


def payload_of(target: str, params: dict[str, str] | tuple[tuple[str, str], ...] = ()) -> str:
    items = params.items() if isinstance(params, dict) else params
    query = "&".join(f"{k}={v}" for k, v in items)
    return f"{target}|{query}" if query else target


def parse_payload(payload: str) -> tuple[str, dict[str, str]]:
    target, _, query = payload.partition("|")
    params = dict(part.split("=", 1) for part in query.split("&") if "=" in part)
    return target.strip(), params


def _read(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise FlowError(f"{path.name}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise FlowError(f"{path.name}: expected a mapping")
    return data


def _system(flows: FlowSet, data: dict[str, Any], where: str) -> None:
    flows.roles = {str(k): str(v) for k, v in (data.get("roles") or {}).items()}
    for intent, spec in (data.get("routes") or {}).items():
        if isinstance(spec, str):
            flows.routes[intent] = Route(spec)
        else:
            flows.routes[intent] = Route(spec["goto"], tuple((spec.get("entities") or {}).items()))
    flows.answers = tuple(data.get("answers") or ())
    flows.commands = tuple(data.get("commands") or ())
    flows.suggestable = tuple(data.get("suggestable") or ())
    flows.words = {str(k): str(v) for k, v in (data.get("words") or {}).items()}
    flows.countries = tuple(data.get("countries") or ())
    confidence = data.get("confidence") or {}
    flows.act_confidence = float(confidence.get("act", flows.act_confidence))
    flows.suggest_confidence = float(confidence.get("suggest", flows.suggest_confidence))
    flows.clear_confidence = float(confidence.get("clear", flows.clear_confidence))
    flows.clear_lead = float(confidence.get("lead", flows.clear_lead))
    for role in ROLES:
        if role not in flows.roles:
            flows.problems.append(f"{where}: role {role} is not mapped to a step")
    for word in WORDS:
        if word not in flows.words:
            flows.problems.append(f"{where}: word list {word} is not mapped to a locale key")


def _step(flow: str, step_id: str, spec: dict[str, Any]) -> Step:
    known = {
        "say", "choices", "dynamic_choices", "ask", "action", "branches", "escalate", "skip_if",
        "next", "end", "keep_state", "resource", "external",
    }  # fmt: skip
    unknown = set(spec) - known
    if unknown:
        raise ValueError(f"unknown field(s) {', '.join(sorted(unknown))}")
    q = lambda target: qualify(flow, str(target))  # noqa: E731
    ask = spec.get("ask")
    escalate = spec.get("escalate")
    skip = spec.get("skip_if")
    return Step(
        id=step_id,
        say=tuple(_message(item) for item in spec.get("say") or ()),
        choices=tuple(
            ChoiceSpec(
                title=c["title"],
                target=q(c["goto"]),
                params=tuple((str(k), str(v)) for k, v in (c.get("with") or {}).items()),
                intents=tuple(c.get("intents") or ()),
            )
            for c in spec.get("choices") or ()
        ),
        dynamic_choices=bool(spec.get("dynamic_choices")),
        ask=Ask(
            slot=ask["slot"],
            kind=ask.get("kind", "text"),
            reprompt=ask["reprompt"],
            next=q(ask["next"]),
            during_case=bool(ask.get("during_case")),
            intents=tuple(ask.get("intents") or ()),
        )
        if ask
        else None,
        action=spec.get("action"),
        on=tuple((str(k), q(v)) for k, v in (spec.get("branches") or {}).items()),
        escalate=Escalation(
            escalate["priority"], escalate["trigger"], bool(escalate.get("keep_text", True))
        )
        if escalate
        else None,
        skip_if=(skip["slot"], q(skip["goto"])) if skip else None,
        next=q(spec["next"]) if spec.get("next") else None,
        end=bool(spec.get("end")),
        keep_state=bool(spec.get("keep_state")),
        resource=spec.get("resource"),
        external=bool(spec.get("external")),
    )


def _message(item: Any) -> Message:
    if isinstance(item, str):
        return Message((item,))
    if isinstance(item, list):
        return Message(tuple(map(str, item)))
    keys = item["say"]
    return Message(
        keys=(keys,) if isinstance(keys, str) else tuple(keys),
        when=item.get("if"),
        buttons=bool(item.get("buttons")),
    )
