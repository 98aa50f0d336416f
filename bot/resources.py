"""Where the bot's shipped files are, from a checkout and from an installed wheel alike.

The repository keeps flows, locales, data, migrations and the NLU project at its top level,
next to `bot/`. The wheel carries the same folders inside the package, under `bot/_shipped/`
(the `sources` mapping in pyproject.toml), so an installed bot runs from any folder with no
setting. A checkout (tests, `pip install -e`) has no `_shipped` folder and uses its own root.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
SHIPPED = PACKAGE / "_shipped"
INSTALLED = SHIPPED.is_dir()

# flows/, locales/, data/, migrations/ and nlu/ live here.
ROOT = SHIPPED if INSTALLED else PACKAGE.parent
# A local run's SQLite database and generated secrets: the checkout's var/, or var/ in the
# folder an installed bot was started from (never inside site-packages).
VAR = Path.cwd() / "var" if INSTALLED else ROOT / "var"
