from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

# Hypothesis's per-example deadline is a wall-clock assert: on a shared 2-core machine it fails
# tests that are right. Time is measured in bench/, never asserted here.
settings.register_profile("tvarit", deadline=None)
settings.load_profile("tvarit")

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"

# Never let a test reach a real AWS account, whatever the developer's shell holds.
for _name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
    os.environ.pop(_name, None)
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "ap-south-1")
os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")


@pytest.fixture
def shared_data() -> Path:
    """../shared/data, or a clean skip where the repository stands alone."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is absent (plain clone)")
    return SHARED_DATA


@pytest.fixture
def reset_wiring() -> Iterator[None]:
    from chalicelib import wiring

    yield
    wiring.use(None)
