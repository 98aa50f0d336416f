"""NLU benchmark on the held-out file (a measurement, not a test).

For each Rasa config (ours, the syllable alternative, Rasa's stock pipeline) it trains the
model if needed (cached by content hash), serves it on a free port and reports, per language:

- macro-F1 through the bot's full pipeline (normalization, Zawgyi conversion, safety net);
- macro-F1 of the model alone on the raw text (no normalization, no safety net);
- urgent recall and false-alarm rate, the Zawgyi lines against their Unicode twins;
- by risk level: urgent + concern recall, calm lines flagged urgent (`--heldout
  nlu/tests/distress_heldout.jsonl` for the distress set);
- parse latency p50/p99 through the bot's client (`NluPipeline.parse`).

With `--baseline-model PATH` (an older model, e.g. trained from a checkout of an earlier
commit) it also serves that model beside ours and times both on the same texts, interleaved
and alternating which goes first, so a busy machine slows both alike.

    .venv/bin/python scripts/bench_nlu.py [--heldout nlu/tests/heldout.jsonl] [--json]
        [--only NAME] [--baseline-model PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.understanding import nlu_env
from bot.understanding.evaluation import Example, Outcome, load_examples, score
from bot.understanding.pipeline import NluPipeline
from bot.understanding.rasa_client import RasaClient

CONFIGS = {
    "safestep (ICU words)": nlu_env.NLU_DIR / "config.yml",
    "syllables": nlu_env.NLU_DIR / "config.syllable.yml",
    "rasa stock": nlu_env.NLU_DIR / "config.stock.yml",
}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def measure(url: str, examples: list[Example]) -> dict[str, object]:
    pipeline = NluPipeline(RasaClient(url, timeout=10.0))
    model_only = RasaClient(url, timeout=10.0)
    full, raw, latencies = [], [], []
    try:
        for example in examples[:20]:  # warm-up: the first parses of a fresh model are slow
            await pipeline.parse(example.text)
        for example in examples:
            started = time.perf_counter()
            parsed = await pipeline.parse(example.text)
            latencies.append((time.perf_counter() - started) * 1000)
            if parsed.source != "rasa":
                raise RuntimeError(f"the NLU server did not answer for {example.text!r}")
            full.append(
                Outcome(parsed.intent, parsed.urgent, parsed.lang, parsed.risk, parsed.indicators)
            )
            alone = await model_only.classify(example.text)
            raw.append(Outcome(alone.intent, alone.intent == "urgent_help"))
    finally:
        await pipeline.aclose()
        await model_only.aclose()
    return {
        "pipeline": score(examples, full),
        "model_only": score(examples, raw),
        "latency_ms": {
            "p50": statistics.median(latencies),
            "p99": percentile(latencies, 0.99),
            "n": len(latencies),
        },
    }


async def race(urls: dict[str, str], examples: list[Example]) -> dict[str, dict[str, float]]:
    """Parse latency of each server on the same texts, interleaved, the order alternating."""
    pipelines = {name: NluPipeline(RasaClient(url, timeout=10.0)) for name, url in urls.items()}
    latencies: dict[str, list[float]] = {name: [] for name in urls}
    try:
        for example in examples[:20]:
            for pipeline in pipelines.values():
                await pipeline.parse(example.text)
        for i, example in enumerate(examples):
            names = list(pipelines) if i % 2 == 0 else list(reversed(pipelines))
            for name in names:
                started = time.perf_counter()
                await pipelines[name].parse(example.text)
                latencies[name].append((time.perf_counter() - started) * 1000)
    finally:
        for pipeline in pipelines.values():
            await pipeline.aclose()
    return {
        name: {"p50": statistics.median(values), "p99": percentile(values, 0.99), "n": len(values)}
        for name, values in latencies.items()
    }


def compare_with(baseline: Path, examples: list[Example]) -> dict[str, dict[str, float]]:
    servers = {
        "current": nlu_env.start_server(
            nlu_env.free_port(), token="", model=nlu_env.ensure_model()
        ),
        "baseline": nlu_env.start_server(nlu_env.free_port(), token="", model=baseline),
    }
    try:
        return asyncio.run(race({name: s.url for name, s in servers.items()}, examples))
    finally:
        for server in servers.values():
            server.stop()


def run_config(config: Path, examples: list[Example]) -> dict[str, object]:
    started = time.monotonic()
    model = nlu_env.ensure_model(config)
    trained_in = time.monotonic() - started
    server = nlu_env.start_server(nlu_env.free_port(), token="", model=model)
    try:
        result = asyncio.run(measure(server.url, examples))
    finally:
        server.stop()
    result["model"] = str(model)
    result["train_or_cache_seconds"] = round(trained_in, 1)
    return result


def table(results: dict[str, dict], languages: list[str]) -> str:
    lines = ["macro-F1 per language (full pipeline / model alone on raw text)", ""]
    lines.append(
        f"{'pipeline':<22}"
        + "".join(f"{lang:>14}" for lang in languages)
        + f"{'urgent R':>10}{'false al.':>10}{'U+C R':>8}{'calm>U':>8}{'p50 ms':>8}{'p99 ms':>8}"
    )
    for name, r in results.items():
        full, raw = r["pipeline"]["languages"], r["model_only"]["languages"]
        cells = "".join(
            f"{full[lang]['macro_f1']:>7.3f}/{raw[lang]['macro_f1']:.3f}" for lang in languages
        )
        urgent, risk = r["pipeline"]["urgent"], r["pipeline"]["risk"]
        distress = risk["distress_recall"]
        lines.append(
            f"{name:<22}{cells}{urgent['recall']:>10.3f}"
            f"{urgent['false_alarm_rate']:>10.3f}"
            f"{'-' if distress is None else f'{distress:.3f}':>8}"
            f"{risk['calm_flagged_urgent']:>8.3f}"
            f"{r['latency_ms']['p50']:>8.1f}{r['latency_ms']['p99']:>8.1f}"
        )
    lines += ["", "Zawgyi vs Unicode (Burmese, full pipeline macro-F1 / accuracy)"]
    for name, r in results.items():
        variants = r["pipeline"]["variants"]
        plain, zawgyi = variants.get("my:plain"), variants.get("my:zawgyi")
        if plain and zawgyi:
            lines.append(
                f"  {name:<22} unicode {plain['macro_f1']:.3f}/{plain['accuracy']:.3f}"
                f"  zawgyi {zawgyi['macro_f1']:.3f}/{zawgyi['accuracy']:.3f}"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--heldout", type=Path, default=nlu_env.NLU_DIR / "tests/heldout.jsonl")
    parser.add_argument(
        "--only",
        choices=list(CONFIGS),
        action="append",
        help="Run only these configs (repeatable).",
    )
    parser.add_argument("--json", action="store_true", help="Print everything as JSON.")
    parser.add_argument(
        "--baseline-model",
        type=Path,
        help="Also time this model against ours, interleaved on the same texts.",
    )
    args = parser.parse_args()
    # Stopped from outside, still stop the rasa server it started (its own session).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    examples = load_examples(args.heldout)
    results = {
        name: run_config(path, examples)
        for name, path in CONFIGS.items()
        if not args.only or name in args.only
    }
    race_ms = compare_with(args.baseline_model, examples) if args.baseline_model else None
    if args.json:
        print(json.dumps({**results, "race_ms": race_ms}, ensure_ascii=False, indent=2))
        return
    languages = sorted({e.lang for e in examples if e.lang})
    print(f"held-out: {args.heldout} ({len(examples)} lines)\n")
    print(table(results, languages))
    if race_ms:
        print(f"\nparse latency, interleaved with {args.baseline_model.name} (ms)")
        for name, ms in race_ms.items():
            print(f"  {name:<10} p50 {ms['p50']:7.1f}  p99 {ms['p99']:7.1f}  (n={ms['n']})")
        current, base = race_ms["current"], race_ms["baseline"]
        print(
            f"  ratio      p50 {current['p50'] / base['p50']:7.2f}  p99 "
            f"{current['p99'] / base['p99']:7.2f}"
        )


if __name__ == "__main__":
    main()
