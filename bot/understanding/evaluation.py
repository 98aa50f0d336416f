"""Scoring an NLU run against a labelled file (`safestep nlu eval`, the benchmark, tests).

Pure functions over (gold, predicted) pairs, so the same figures come out of the CLI, the
benchmark script and the test-suite. Macro-F1 per language averages F1 over the intents that
language's gold lines use; a predicted intent outside them still costs precision elsewhere.

Distress is scored by risk level (a confusion matrix, urgent recall, urgent + concern recall,
the share of calm lines flagged urgent) and by indicator (recall of each gold indicator).
A line without a `risk` is `urgent` when its intent is urgent_help, else `none`.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.vocabulary import Indicator, Risk

URGENT_INTENT = "urgent_help"
RISKS = (Risk.URGENT, Risk.CONCERN, Risk.NONE)


@dataclass(frozen=True)
class Example:
    text: str
    intent: str
    lang: str | None = None
    variant: str | None = None
    risk: Risk | None = None  # None: urgent for urgent_help, else none
    indicators: tuple[Indicator, ...] = ()

    @property
    def level(self) -> Risk:
        return self.risk or (Risk.URGENT if self.intent == URGENT_INTENT else Risk.NONE)


@dataclass(frozen=True)
class Outcome:
    """What the pipeline said about one example."""

    intent: str
    urgent: bool
    lang: str | None = None
    risk: Risk | None = None  # None: the scorer derives it from `urgent`
    indicators: tuple[Indicator, ...] = ()

    @property
    def level(self) -> Risk:
        return self.risk or (Risk.URGENT if self.urgent else Risk.NONE)


def load_examples(path: Path) -> list[Example]:
    """Lines `{"text","intent","lang"?,"variant"?,"risk"?,"indicators"?}`; blanks skipped."""
    examples = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        row = json.loads(line)
        if "text" not in row or "intent" not in row:
            raise ValueError(f"{path}:{number}: needs 'text' and 'intent'")
        examples.append(
            Example(
                row["text"],
                row["intent"],
                row.get("lang"),
                row.get("variant"),
                Risk(row["risk"]) if "risk" in row else None,
                tuple(Indicator(i) for i in row.get("indicators", ())),
            )
        )
    return examples


def _prf(gold: Sequence[str], pred: Sequence[str], label: str) -> dict[str, float]:
    tp = sum(g == label and p == label for g, p in zip(gold, pred, strict=True))
    fp = sum(g != label and p == label for g, p in zip(gold, pred, strict=True))
    fn = sum(g == label and p != label for g, p in zip(gold, pred, strict=True))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "support": tp + fn}


def _group_scores(gold: Sequence[str], pred: Sequence[str]) -> dict[str, Any]:
    per_intent = {label: _prf(gold, pred, label) for label in sorted(set(gold))}
    macro = sum(s["f1"] for s in per_intent.values()) / len(per_intent) if per_intent else 0.0
    accuracy = sum(g == p for g, p in zip(gold, pred, strict=True)) / len(gold) if gold else 0.0
    return {"n": len(gold), "macro_f1": macro, "accuracy": accuracy, "per_intent": per_intent}


def _ratio(hits: int, total: int) -> float | None:
    return hits / total if total else None


def risk_scores(examples: Sequence[Example], outcomes: Sequence[Outcome]) -> dict[str, Any]:
    """Risk confusion matrix (gold -> predicted), recalls, calm lines flagged urgent, and the
    recall of each gold indicator (the line's predicted indicators include it)."""
    pairs = list(zip(examples, outcomes, strict=True))
    matrix = {str(g): {str(p): 0 for p in RISKS} for g in RISKS}
    for example, outcome in pairs:
        matrix[str(example.level)][str(outcome.level)] += 1
    urgent = [o for e, o in pairs if e.level is Risk.URGENT]
    distress = [o for e, o in pairs if e.level is not Risk.NONE]
    calm = [(e, o) for e, o in pairs if e.level is Risk.NONE]
    indicators: dict[str, dict[str, Any]] = {}
    for indicator in Indicator:
        gold = [o for e, o in pairs if indicator in e.indicators]
        if gold:
            found = sum(indicator in o.indicators for o in gold)
            indicators[str(indicator)] = {"recall": found / len(gold), "support": len(gold)}
    return {
        "matrix": matrix,
        "urgent_recall": _ratio(sum(o.level is Risk.URGENT for o in urgent), len(urgent)),
        "distress_recall": _ratio(sum(o.level is not Risk.NONE for o in distress), len(distress)),
        "calm_flagged_urgent": _ratio(sum(o.level is Risk.URGENT for _, o in calm), len(calm)),
        "missed": [e.text for e, o in pairs if e.level is not Risk.NONE and o.level is Risk.NONE]
        + [e.text for e, o in pairs if e.level is Risk.URGENT and o.level is Risk.CONCERN],
        "calm_flagged": [e.text for e, o in calm if o.level is Risk.URGENT],
        "indicators": indicators,
    }


def score(
    examples: Sequence[Example], outcomes: Sequence[Outcome], worst: int = 10
) -> dict[str, Any]:
    """Per-language and per-variant scores, urgent recall/false alarms, worst confusions."""
    if len(examples) != len(outcomes):
        raise ValueError("one outcome per example")
    groups: dict[str, list[int]] = defaultdict(list)
    variants: dict[str, list[int]] = defaultdict(list)
    for i, example in enumerate(examples):
        lang = example.lang or outcomes[i].lang or "unknown"
        groups[lang].append(i)
        variants[f"{lang}:{example.variant or 'plain'}"].append(i)

    def scores_for(indices: Iterable[int]) -> dict[str, Any]:
        chosen = list(indices)
        return _group_scores(
            [examples[i].intent for i in chosen], [outcomes[i].intent for i in chosen]
        )

    urgent_gold = [i for i, e in enumerate(examples) if e.intent == URGENT_INTENT]
    calm_gold = [i for i, e in enumerate(examples) if e.intent != URGENT_INTENT]
    missed = [examples[i].text for i in urgent_gold if not outcomes[i].urgent]
    alarms = [examples[i].text for i in calm_gold if outcomes[i].urgent]
    pairs = zip(examples, outcomes, strict=True)
    confusions = Counter((e.intent, o.intent) for e, o in pairs if e.intent != o.intent)
    return {
        "n": len(examples),
        "overall": scores_for(range(len(examples))),
        "languages": {lang: scores_for(idx) for lang, idx in sorted(groups.items())},
        "variants": {name: scores_for(idx) for name, idx in sorted(variants.items())},
        "urgent": {
            "recall": (len(urgent_gold) - len(missed)) / len(urgent_gold) if urgent_gold else None,
            "false_alarm_rate": len(alarms) / len(calm_gold) if calm_gold else None,
            "positives": len(urgent_gold),
            "missed": missed,
            "false_alarms": alarms,
        },
        "risk": risk_scores(examples, outcomes),
        "confusions": [
            {"gold": g, "predicted": p, "count": n} for (g, p), n in confusions.most_common(worst)
        ],
    }


def _format_risk(risk: dict[str, Any]) -> list[str]:
    def fmt(value: float | None) -> str:
        return "-" if value is None else f"{value:.3f}"

    lines = ["", "risk: gold (rows) -> predicted", f"{'':<9}" + "".join(f"{r:>9}" for r in RISKS)]
    for gold, row in risk["matrix"].items():
        lines.append(f"{gold:<9}" + "".join(f"{row[str(p)]:>9}" for p in RISKS))
    lines += [
        f"urgent recall: {fmt(risk['urgent_recall'])}",
        f"urgent + concern recall: {fmt(risk['distress_recall'])}",
        f"calm lines flagged urgent: {fmt(risk['calm_flagged_urgent'])}",
    ]
    lines += [f"  missed or under-rated: {text}" for text in risk["missed"]]
    lines += [f"  calm flagged urgent: {text}" for text in risk["calm_flagged"]]
    if risk["indicators"]:
        lines += ["", "indicator                 recall  support"]
        for name, s in risk["indicators"].items():
            lines.append(f"{name:<25} {s['recall']:.3f}   {s['support']}")
    return lines


def format_report(report: dict[str, Any]) -> str:
    """A plain-text rendering of `score`'s result for people."""
    lines = [f"examples: {report['n']}", "", "language  n     macro-F1  accuracy"]
    for lang, s in report["languages"].items():
        lines.append(f"{lang:<9} {s['n']:<5} {s['macro_f1']:.3f}     {s['accuracy']:.3f}")
    overall = report["overall"]
    lines.append(
        f"{'all':<9} {overall['n']:<5} {overall['macro_f1']:.3f}     {overall['accuracy']:.3f}"
    )
    if len(report["variants"]) > len(report["languages"]):
        lines += ["", "variant        n     macro-F1  accuracy"]
        for name, s in report["variants"].items():
            lines.append(f"{name:<14} {s['n']:<5} {s['macro_f1']:.3f}     {s['accuracy']:.3f}")
    lines += ["", "intent            precision  recall  F1     support (all languages)"]
    for intent, s in overall["per_intent"].items():
        lines.append(
            f"{intent:<17} {s['precision']:.3f}      {s['recall']:.3f}   "
            f"{s['f1']:.3f}  {s['support']}"
        )
    for lang, s in report["languages"].items():
        weak = [f"{i} {v['f1']:.2f}" for i, v in s["per_intent"].items() if v["f1"] < 0.9]
        if weak:
            lines.append(f"  {lang}: below 0.90: {', '.join(weak)}")
    urgent = report["urgent"]
    if urgent["recall"] is not None:
        lines += ["", f"urgent recall: {urgent['recall']:.3f} ({urgent['positives']} lines)"]
        for text in urgent["missed"]:
            lines.append(f"  missed: {text}")
    if urgent["false_alarm_rate"] is not None:
        lines.append(f"urgent false-alarm rate: {urgent['false_alarm_rate']:.3f}")
        for text in urgent["false_alarms"]:
            lines.append(f"  false alarm: {text}")
    lines += _format_risk(report["risk"])
    if report["confusions"]:
        lines += ["", "worst confusions (gold -> predicted: count)"]
        lines += [f"  {c['gold']} -> {c['predicted']}: {c['count']}" for c in report["confusions"]]
    return "\n".join(lines)
