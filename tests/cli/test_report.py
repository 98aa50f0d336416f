"""`safestep report indicators`: bad months and settings are clear errors (exit 2)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from bot.cli import app
from bot.settings import get_settings


@pytest.mark.parametrize(
    ("args", "baseline", "message"),
    [
        (["--from", "2026-03", "--to", "2026-01"], "", "after"),
        (["--from", "2026-1x", "--to", "2026-02"], "", "YYYY-MM"),
        (["--from", "0000-01", "--to", "0000-02"], "", "YYYY-MM"),
        (["--from", "2026-01", "--to", "2026-02"], "2026-05..2026-01", "INDICATOR_BASELINE"),
    ],
)
def test_bad_input_exits_2_without_a_traceback(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch, args: list[str], baseline: str, message: str
) -> None:
    settings = get_settings().model_copy(
        update={"DATABASE_URL": sqlite_url, "INDICATOR_BASELINE": baseline}
    )
    monkeypatch.setattr("bot.cli.report.get_settings", lambda: settings)
    result = CliRunner().invoke(app, ["report", "indicators", *args])
    assert result.exit_code == 2, result.output
    assert message in result.output and result.exception is not None
    assert "Traceback" not in result.output
