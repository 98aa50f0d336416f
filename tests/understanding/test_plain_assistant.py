"""The plain Rasa assistant of the throughput benchmark is generated from the real NLU project:
every intent of the training data answered by a rule, the same pipeline, the REST channel."""

from __future__ import annotations

import yaml

from bot.understanding import nlu_env, plain_assistant


def _load(files: dict[str, str], name: str) -> dict:
    return yaml.safe_load(files[name])


def test_every_intent_of_the_training_data_has_a_response_and_a_rule() -> None:
    files = plain_assistant.project_files()
    domain, rules = _load(files, "domain.yml"), _load(files, "rules.yml")
    labels = set()
    for path in (nlu_env.NLU_DIR / "data").rglob("*.yml"):
        labels |= {i["intent"] for i in yaml.safe_load(path.read_text())["nlu"] if "intent" in i}
    assert "urgent_help+violence" in labels  # indicator labels are intents of their own
    assert set(domain["intents"]) == labels
    answered = {r["steps"][0]["intent"]: r["steps"][1]["action"] for r in rules["rules"]}
    assert set(answered) == labels
    assert set(answered.values()) == set(domain["responses"])
    assert len(set(answered.values())) == len(labels)  # one response per intent
    assert all(name.startswith("utter_") and "+" not in name for name in domain["responses"])


def test_same_pipeline_as_safestep_a_rule_policy_and_the_rest_channel() -> None:
    files = plain_assistant.project_files()
    ours = yaml.safe_load((nlu_env.NLU_DIR / "config.yml").read_text())
    config = _load(files, "config.yml")
    assert config["pipeline"] == ours["pipeline"]
    assert config["language"] == ours["language"]
    assert config["policies"] == [{"name": "RulePolicy"}]
    assert "rest" in _load(files, "credentials.yml")
    assert set(_load(files, "domain.yml")["entities"]) == {"country", "licence_number"}
