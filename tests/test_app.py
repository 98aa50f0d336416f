"""The app's process-wide set-up."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def test_a_server_process_freezes_what_start_up_built_and_a_test_app_does_not(
    sqlite_url: str,
) -> None:
    """A frozen heap is for a process serving one app for life (start-up's objects then stay
    out of the collector's full passes); an app made in tests must never freeze, or every app
    made after it would leak."""
    script = textwrap.dedent(
        f"""
        import gc
        from starlette.testclient import TestClient
        from bot.app import create_app
        from bot.settings import Settings

        settings = Settings(DATABASE_URL={sqlite_url!r}, RASA_URL="")
        for freeze in (False, True):
            with TestClient(create_app(settings, run_workers=False, freeze_heap=freeze)):
                print(gc.get_freeze_count(), gc.get_threshold()[0])
        """
    )
    run = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr
    unfrozen, default_threshold, frozen, threshold = map(int, run.stdout.split())
    assert unfrozen == 0 and default_threshold == 700
    assert frozen > 100_000  # flows, lexicons, gazetteers, settings and the libraries' objects
    assert threshold == 20_000  # and the young generation is collected less often
