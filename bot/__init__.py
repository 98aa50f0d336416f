"""SafeStep."""

import importlib.util
import sys

# httpcore asks `import sniffio` on every request to learn it runs under asyncio. sniffio is
# not installed, so each request searched the whole import path for it, and failed: about 5%
# of a busy worker's CPU. A None entry makes that import fail at once, with the same answer.
if "sniffio" not in sys.modules and importlib.util.find_spec("sniffio") is None:
    sys.modules["sniffio"] = None  # type: ignore[assignment]
