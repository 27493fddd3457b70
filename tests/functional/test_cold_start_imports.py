"""Lambda imports app.py on every cold start: the API's heavy libraries stay off that path."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import ROOT


def test_importing_the_app_loads_no_pydantic_jwt_or_cryptography() -> None:
    code = (
        "import sys, json, app; print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    loaded = set(json.loads(out.stdout))
    assert not loaded & {"pydantic", "pydantic_core", "jwt", "cryptography", "schemathesis"}
