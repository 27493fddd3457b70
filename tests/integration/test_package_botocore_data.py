"""``make package`` ships botocore's data files pre-parsed by the package's own botocore."""

from __future__ import annotations

import shutil
from pathlib import Path

from chalicelib.adapters import botocore_data
from infra import build


def test_the_build_writes_a_file_the_packaged_botocore_accepts(tmp_path: Path) -> None:
    # A package root with the adapter: the build's child imports it from there (and botocore
    # from the package too when it is there; here from the test's environment, the same one).
    source = Path(botocore_data.__file__)
    adapters = tmp_path / "chalicelib" / "adapters"
    adapters.mkdir(parents=True)
    for path in (source.parents[1] / "__init__.py", source.with_name("__init__.py"), source):
        shutil.copy(path, tmp_path / path.relative_to(source.parents[2]))
    build._add_botocore_data(tmp_path)
    loader = botocore_data.packed_loader((adapters / botocore_data.PACKED_FILE).read_bytes())
    assert loader is not None
    assert loader.load_service_model("dynamodb", "service-2")["metadata"]["protocol"] == "json"
    assert loader.misses == []


def test_a_package_without_the_adapter_gets_no_file(tmp_path: Path) -> None:
    (tmp_path / "chalicelib" / "adapters").mkdir(parents=True)
    build._add_botocore_data(tmp_path)
    assert list((tmp_path / "chalicelib" / "adapters").iterdir()) == []
