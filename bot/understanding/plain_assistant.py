"""The assistant a team would build with stock Rasa instead of SafeStep, as a yardstick.

Same NLU config and training data as `nlu/` (custom tokenizer included), a RulePolicy that
answers every intent with one fixed response (`utter_<intent>`), served with Rasa's REST
channel. `scripts/bench_throughput.py` compares SafeStep's end-to-end turns per second with it;
nothing in the bot uses it.

The project is generated from `nlu/` (never hand-kept, so it cannot drift) into
`$SAFESTEP_NLU_HOME/plain-<hash>/`, and its model is cached as `models/plain-<hash>.tar.gz`,
keyed by the generated files plus everything the SafeStep model depends on.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

import yaml

from bot.understanding import nlu_env

DATA_DIR = nlu_env.NLU_DIR / "data"


def intents_and_entities(data: Path = DATA_DIR) -> tuple[list[str], list[str]]:
    """Every intent label and regex entity in the NLU training data, sorted."""
    intents: set[str] = set()
    entities: set[str] = set()
    for path in sorted(data.rglob("*.yml")):
        for item in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu", []):
            if "intent" in item:
                intents.add(item["intent"])
            if "regex" in item:
                entities.add(item["regex"])
    return sorted(intents), sorted(entities)


def response_name(intent: str) -> str:
    """`utter_<intent>`, with the `+` of indicator labels (`urgent_help+violence`) spelt `__`."""
    return "utter_" + re.sub(r"[^A-Za-z0-9_]", "__", intent)


def project_files(config: Path | None = None, data: Path = DATA_DIR) -> dict[str, str]:
    """The generated project: config (ours, plus a RulePolicy), domain, rules, credentials."""
    intents, entities = intents_and_entities(data)
    settings: dict[str, Any] = yaml.safe_load(
        (config or nlu_env.NLU_DIR / "config.yml").read_text(encoding="utf-8")
    )
    settings["assistant_id"] = "safestep-plain"
    settings["policies"] = [{"name": "RulePolicy"}]
    domain = {
        "version": "3.1",
        "intents": intents,
        "entities": entities,
        "responses": {response_name(i): [{"text": f"[{i}]"}] for i in intents},
        "session_config": {"session_expiration_time": 60, "carry_over_slots_to_new_session": True},
    }
    rules = {
        "version": "3.1",
        "rules": [
            {"rule": f"answer {i}", "steps": [{"intent": i}, {"action": response_name(i)}]}
            for i in intents
        ],
    }

    def dump(value: object) -> str:
        return yaml.safe_dump(value, allow_unicode=True, sort_keys=False)

    return {
        "config.yml": dump(settings),
        "domain.yml": dump(domain),
        "rules.yml": dump(rules),
        "credentials.yml": dump({"rest": None}),
    }


def _key(files: dict[str, str]) -> str:
    sha = hashlib.sha256(nlu_env.project_hash().encode())
    for name, text in sorted(files.items()):
        sha.update(f"\0{name}\0{text}".encode())
    return sha.hexdigest()[:16]


def write_project(target: Path, files: dict[str, str]) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (target / name).write_text(text, encoding="utf-8")
    return target


def ensure_model(force: bool = False) -> tuple[Path, Path]:
    """The trained plain assistant and its project directory (for `credentials.yml`);
    trains only when the inputs changed (a few minutes, as the SafeStep model)."""
    files = project_files()
    key = _key(files)
    project = write_project(nlu_env.home() / f"plain-{key}", files)
    args = [
        "--config",
        str(project / "config.yml"),
        "--domain",
        str(project / "domain.yml"),
        "--data",
        str(DATA_DIR),
        str(project / "rules.yml"),
    ]
    target = nlu_env.home() / "models" / f"plain-{key}.tar.gz"
    return nlu_env.train(target, args, cwd=project, force=force), project


def start_server(port: int) -> nlu_env.NluServer:
    """`rasa run` of the plain assistant with the REST channel (`/webhooks/rest/webhook`)
    and the HTTP API (`/model/parse`), no token, bound to loopback."""
    model, project = ensure_model()
    return nlu_env.start_server(
        port, token="", model=model, extra_args=["--credentials", str(project / "credentials.yml")]
    )
