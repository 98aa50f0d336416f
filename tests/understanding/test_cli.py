"""`safestep nlu parse` and `eval` as a user runs them (subprocesses)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from bot.understanding.nlu_env import free_port

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-c", "from bot.cli import app; app()", "nlu"]
LINES = ["hello", "ကြၽန္မကိုအလုပ္ရွင္ကအိမ္ထဲမွာပိတ္ထားတယ္", "", "check RL-1234 in Malaysia", "ម៉ឺនុយ", "টাকা কত লাগবে"]


def run(args: list[str], stdin: str, rasa_url: str, timeout: float) -> subprocess.CompletedProcess:
    env = {**os.environ, "RASA_URL": rasa_url, "RASA_TOKEN": ""}
    return subprocess.run(
        CLI + args,
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=timeout,
        check=False,
    )


def test_parse_writes_one_json_line_per_input_line_in_order(rasa_server: str) -> None:
    result = run(["parse"], "\n".join(LINES) + "\n", rasa_server, timeout=120)
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["text"] for r in rows] == LINES
    for row in rows:
        assert set(row) == {
            "text",
            "normalized",
            "lang",
            "intent",
            "confidence",
            "urgent",
            "risk",
            "indicators",
            "entities",
        }
        assert row["urgent"] == (row["risk"] == "urgent")
    assert rows[0]["intent"] == "greet"
    assert rows[1]["normalized"] == "ကျွန်မကိုအလုပ်ရှင်ကအိမ်ထဲမှာပိတ်ထားတယ်"
    assert (rows[1]["lang"], rows[1]["urgent"]) == ("my", True)
    assert "restriction_of_movement" in rows[1]["indicators"]
    assert rows[2]["intent"] == "out_of_scope"
    assert {(e["entity"], e["value"]) for e in rows[3]["entities"]} == {
        ("licence_number", "RL-1234"),
        ("country", "MY"),
    }
    assert rows[4]["intent"] == "menu"
    assert (rows[5]["intent"], rows[5]["lang"]) == ("info_fees", "bn")


def test_parse_without_server_answers_from_keywords_quickly() -> None:
    started = time.monotonic()
    result = run(
        ["parse", "--no-start"],
        "menu\nကယ်ပါ\nwhat is trafficking\nthe boss beats me\n",
        f"http://127.0.0.1:{free_port()}",
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(r["urgent"], r["risk"]) for r in rows] == [
        (False, "none"),
        (True, "urgent"),
        (False, "none"),  # a question about trafficking is not an emergency
        (True, "urgent"),
    ]
    assert (rows[0]["intent"], rows[1]["intent"]) == ("menu", "urgent_help")
    assert rows[3]["indicators"] == ["violence"]
    assert time.monotonic() - started < 30


def test_eval_reports_per_language_scores_as_json(rasa_server: str, tmp_path: Path) -> None:
    data = tmp_path / "small.jsonl"
    data.write_text(
        "\n".join(
            json.dumps(row, ensure_ascii=False)
            for row in [
                {"text": "hi", "intent": "greet", "lang": "en"},
                {"text": "they locked me in", "intent": "urgent_help", "lang": "en"},
                {"text": "មនុស្សពិតផង", "intent": "talk_to_human", "lang": "km"},
                {"text": "what is the weather", "intent": "out_of_scope"},
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    result = run(["eval", str(data), "--json"], "", rasa_server, timeout=120)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert set(report["languages"]) == {"en", "km"}
    assert report["n"] == 4
    assert report["urgent"]["recall"] == 1.0
    text = run(["eval", str(data)], "", rasa_server, timeout=120)
    assert "macro-F1" in text.stdout and "urgent recall" in text.stdout


def test_parse_starts_and_stops_its_own_server_when_none_answers(rasa_server: str) -> None:
    # rasa_server first: the environment and model exist, so this run only has to start one.
    port = free_port()
    result = run(
        ["parse"],
        "hello sister\nmy boss took my passport\n",
        f"http://127.0.0.1:{port}",
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert f"starting one on port {port}" in result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(r["intent"], r["urgent"]) for r in rows] == [("greet", False), ("urgent_help", True)]
    with socket.socket() as sock:  # the server went away with the command
        assert sock.connect_ex(("127.0.0.1", port)) != 0
