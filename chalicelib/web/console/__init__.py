"""The cell heads' console: server-rendered pages under ``/console``, one module per page.

Every page module registers its routes on :data:`console_web` when imported; importing this
package imports them all, so ``app.py`` registers the blueprint once.
"""

from __future__ import annotations

from chalicelib.web.console.shell import console_web

# Page modules (each registers its routes on console_web when imported).
from chalicelib.web.console import overview  # noqa: F401  isort: skip
from chalicelib.web.console import watchlist  # noqa: F401  isort: skip
from chalicelib.web.console import queries  # noqa: F401  isort: skip
from chalicelib.web.console import routes  # noqa: F401  isort: skip
from chalicelib.web.console import chains  # noqa: F401  isort: skip
from chalicelib.web.console import audit  # noqa: F401  isort: skip
from chalicelib.web.console import teams  # noqa: F401  isort: skip
from chalicelib.web.console import stats  # noqa: F401  isort: skip
from chalicelib.web.console import feed  # noqa: F401  isort: skip

__all__ = ["console_web"]
