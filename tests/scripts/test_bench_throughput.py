"""The throughput benchmark's rounds: medians of each figure, ratios taken within a round."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

from bench_throughput import BackendResult, Check, median_of, process_tree


def _round(
    parse: float, plain: float, safestep: float, ack: float, missing: int = 0
) -> BackendResult:
    return BackendResult(
        "postgres",
        parse_turns_s={1: parse / 2, 4: parse},
        plain_turns_s=plain,
        safestep_turns_s=safestep,
        ack_p99_ms=ack,
        check=Check(missing=missing),
    )


def test_rounds_give_medians_and_each_rounds_own_ratio() -> None:
    # The machine slows down in round 2: every row falls, the ratio holds.
    rounds = [_round(200, 150, 160, 20), _round(100, 75, 80, 90), _round(210, 160, 150, 18)]
    result = median_of(rounds)
    assert result.parse_turns_s == {1: 100, 4: 200}
    assert result.safestep_turns_s == 150 and result.ack_p99_ms == 20
    # Per-round ratios 0.8, 0.8, 0.714...: the median is 0.8, not 150 / 200 = 0.75.
    assert result.parse_ratio == 0.8
    assert result.plain_ratio == 160 / 150  # rounds: 1.07, 1.07, 0.94


def test_a_round_that_lost_a_message_fails_the_whole_run() -> None:
    result = median_of([_round(200, 150, 160, 20), _round(200, 150, 160, 20, missing=1)])
    assert not result.check.ok and result.check.missing == 1


def test_one_round_is_the_round_itself() -> None:
    only = _round(200, 150, 160, 20)
    assert median_of([only]) is only and only.parse_ratio == 0.8


def test_a_process_tree_holds_every_descendant_still_running() -> None:
    # pid: (parent, cpu, nice, name): 10 starts 11 and 12, 12 starts 13; 20 is apart.
    processes = {
        10: (1, 1.0, 0, "safestep"),
        11: (10, 2.0, 0, "python"),
        12: (10, 3.0, 5, "python"),
        13: (12, 0.5, 5, "python"),
        20: (1, 9.0, 0, "postgres"),
    }
    assert process_tree(processes, 10) == {10, 11, 12, 13}
    assert process_tree(processes, 12) == {12, 13}
    assert process_tree(processes, 99) == set()  # ended
