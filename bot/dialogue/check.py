"""`safestep flows check`: everything that would make a user see a key, a dead end or a cut word.

Runs in the test suite and in CI, on the real flows and on broken fixtures.
"""

from __future__ import annotations

from collections import deque
from pathlib import Path

import regex

from bot.channels.text import grapheme_len
from bot.dialogue.actions import ACTIONS
from bot.dialogue.flows import ASK_KINDS, FLOWS, FlowError, FlowSet, load
from bot.dialogue.i18n import FALLBACK, LOCALES, read_locale
from bot.services.cases import PRIORITIES
from bot.understanding.base import INTENTS, LANGUAGES

TITLE_LIMIT = 20
CHANNEL_LIMITS = {"messenger": 2000, "viber": 7000}
# A placeholder is rendered as this many characters when measuring a message; the hotline
# list (`lines`) is split by the channel between entries, so it counts as one line here.
PLACEHOLDER_WIDTH = 60
_PLACEHOLDER = regex.compile(r"%\{(\w+)\}")


def check(flows_dir: Path = FLOWS, locales_dir: Path = LOCALES) -> list[str]:
    try:
        flows = load(flows_dir)
    except FlowError as exc:
        return [str(exc)]
    locales = {
        lang: read_locale(locales_dir, lang)
        for lang in LANGUAGES
        if (locales_dir / f"{lang}.yml").exists()
    }
    problems = list(flows.problems)
    problems += [f"locale {lang}: file missing" for lang in LANGUAGES if lang not in locales]
    problems += _structure(flows)
    problems += _reachability(flows)
    problems += _locales(flows, locales)
    return problems


def _structure(flows: FlowSet) -> list[str]:
    problems: list[str] = []
    steps = flows.steps

    def target(where: str, name: str) -> None:
        if name not in steps:
            problems.append(f"{where}: unknown step {name}")

    for role, name in flows.roles.items():
        target(f"role {role}", name)
    for intent, route in flows.routes.items():
        if intent not in INTENTS:
            problems.append(f"route: unknown intent {intent}")
        target(f"route {intent}", route.target)
    for listed in ("answers", "commands", "suggestable"):
        for intent in getattr(flows, listed):
            if intent not in INTENTS:
                problems.append(f"{listed}: unknown intent {intent}")
            elif listed == "suggestable" and intent not in flows.routes:
                problems.append(f"suggestable: intent {intent} has no route")
    for step in steps.values():
        for name in step.targets():
            target(f"step {step.id}", name)
        for choice in step.choices:
            problems += [
                f"step {step.id}: unknown intent {i}" for i in choice.intents if i not in INTENTS
            ]
        if step.ask:
            problems += [
                f"step {step.id}: unknown intent {i}" for i in step.ask.intents if i not in INTENTS
            ]
        if step.ask and step.ask.kind not in ASK_KINDS:
            problems.append(f"step {step.id}: ask kind must be one of {ASK_KINDS}")
        if step.ask and step.next:
            problems.append(f"step {step.id}: a step that asks cannot also continue (`next`)")
        if step.escalate and step.escalate.priority not in PRIORITIES:
            problems.append(f"step {step.id}: escalation priority must be one of {PRIORITIES}")
        if step.action:
            action = ACTIONS.get(step.action)
            if action is None:
                problems.append(f"step {step.id}: unknown action {step.action}")
                continue
            branches = dict(step.on)
            problems += [
                f"step {step.id}: outcome {o} of {step.action} has no branch in `branches`"
                for o in action.outcomes
                if o not in branches
            ]
            problems += [
                f"step {step.id}: {step.action} never returns {o}"
                for o in branches
                if o not in action.outcomes
            ]
            for name in action.targets:
                target(f"action {step.action}", name)
    return list(dict.fromkeys(problems))


def _reachability(flows: FlowSet) -> list[str]:
    starts = [*flows.roles.values(), *(r.target for r in flows.routes.values())]
    starts += [t for a in ACTIONS.values() for t in a.targets]
    starts += [s.id for s in flows.steps.values() if s.external]
    seen: set[str] = set()
    queue = deque(s for s in starts if s in flows.steps)
    while queue:
        name = queue.popleft()
        if name in seen:
            continue
        seen.add(name)
        queue.extend(t for t in flows.steps[name].targets() if t in flows.steps)
    return [f"step {name}: unreachable" for name in sorted(set(flows.steps) - seen)]


def _keys(flows: FlowSet) -> tuple[set[str], set[str]]:
    """(every key the flows and engine use, the ones shown as quick-reply titles)."""
    titles = {c.title for s in flows.steps.values() for c in s.choices}
    titles |= {f"intent.{i}" for i in flows.suggestable}
    keys = set(titles)
    for step in flows.steps.values():
        keys |= {k for m in step.say for k in m.keys}
        if step.ask:
            keys.add(step.ask.reprompt)
        if step.action in ACTIONS:
            keys |= set(ACTIONS[step.action].keys)
    keys |= set(flows.words.values())
    keys |= {f"country.{c}" for c in flows.countries}
    keys |= {f"language_name.{lang}" for lang in LANGUAGES}
    return keys, titles


def _locales(flows: FlowSet, locales: dict[str, dict[str, str]]) -> list[str]:
    problems: list[str] = []
    used, titles = _keys(flows)
    english = locales.get(FALLBACK, {})
    every_key = used | set().union(*(set(t) for t in locales.values()))
    for lang, texts in locales.items():
        for key in sorted(every_key - set(texts)):
            problems.append(f"locale {lang}: missing key {key}")
        for key in sorted(set(texts) & titles):
            if grapheme_len(texts[key]) > TITLE_LIMIT:
                problems.append(
                    f"locale {lang}: quick-reply title {key} is {grapheme_len(texts[key])} "
                    f"grapheme clusters (limit {TITLE_LIMIT}): {texts[key]!r}"
                )
        for key in sorted(set(texts) & set(english)):
            if lang != FALLBACK and _placeholders(texts[key]) != _placeholders(english[key]):
                problems.append(
                    f"locale {lang}: key {key} has placeholders {_placeholders(texts[key])}, "
                    f"English has {_placeholders(english[key])}"
                )
        for step in flows.steps.values():
            for message in step.say:
                length = sum(_measure(texts.get(k, "")) for k in message.keys)
                length += 2 * (len(message.keys) - 1)
                for channel, limit in CHANNEL_LIMITS.items():
                    if length > limit:
                        problems.append(
                            f"locale {lang}: step {step.id} message {'+'.join(message.keys)} "
                            f"is about {length} characters, over {channel}'s {limit}"
                        )
    return problems


def _placeholders(text: str) -> list[str]:
    return sorted(set(_PLACEHOLDER.findall(text)))


def _measure(text: str) -> int:
    return len(_PLACEHOLDER.sub("x" * PLACEHOLDER_WIDTH, text))
