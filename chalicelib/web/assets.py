"""Static files, served under content-hashed names so browsers may keep them for a year."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

STATIC = Path(__file__).resolve().parent / "static"
TYPES = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
    ".webmanifest": "application/manifest+json",
}
IMMUTABLE = "public, max-age=31536000, immutable"


@dataclass(frozen=True)
class Asset:
    name: str  # as written in the source tree: app.css
    served_as: str  # app.<hash>.css
    content_type: str
    body: str


@cache
def assets() -> dict[str, Asset]:
    """Every fingerprinted static file by its served name (read once per container)."""
    out: dict[str, Asset] = {}
    for path in sorted(STATIC.iterdir()):
        if path.suffix not in TYPES or path.name == "sw.js":
            continue  # the service worker keeps one stable URL: browsers re-check it
        body = path.read_text(encoding="utf-8")
        digest = hashlib.sha256(body.encode()).hexdigest()[:10]
        served = f"{path.stem}.{digest}{path.suffix}"
        out[served] = Asset(path.name, served, TYPES[path.suffix], body)
    return out


def url_of(name: str) -> str:
    """``/static/app.<hash>.css`` for ``app.css``."""
    for asset in assets().values():
        if asset.name == name:
            return f"/static/{asset.served_as}"
    raise KeyError(f"no static file {name}")


@cache
def service_worker() -> str:
    return (STATIC / "sw.js").read_text(encoding="utf-8")
