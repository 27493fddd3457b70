"""The deployment package's pre-parsed botocore data files (issue 17: a faster first analyze)."""

from __future__ import annotations

import marshal
import re
from pathlib import Path

import botocore.session
import pytest
from botocore.loaders import Loader

from chalicelib.adapters import botocore_data
from chalicelib.adapters.botocore_data import DATA, MODEL_TYPES, SERVICES, pack, packed_loader


@pytest.fixture(scope="module")
def blob() -> bytes:
    return pack()


def test_the_packed_files_hold_what_botocore_reads_from_its_own(blob: bytes) -> None:
    packed, stock = packed_loader(blob), Loader()
    assert packed is not None
    for name in DATA:
        data, path = packed.load_data_with_path(name)
        assert (data, path) == stock.load_data_with_path(name), name
        assert stock.is_builtin_path(path)
    for service in SERVICES:
        for type_name in MODEL_TYPES:
            assert packed.load_service_model(service, type_name) == stock.load_service_model(
                service, type_name
            ), (service, type_name)
    assert packed.misses == []


def test_a_client_of_every_service_we_call_needs_nothing_else(blob: bytes) -> None:
    packed = packed_loader(blob)
    assert packed is not None
    session = botocore.session.get_session()
    session.register_component("data_loader", packed)
    for service in SERVICES:
        client = session.create_client(
            service,
            region_name="ap-south-1",
            endpoint_url="http://127.0.0.1:9",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        assert client.meta.service_model.service_name == service
    assert packed.misses == []


def test_anything_not_packed_comes_from_botocore_itself(blob: bytes) -> None:
    packed = packed_loader(blob)
    assert packed is not None
    assert packed.load_service_model("sts", "service-2") == Loader().load_service_model(
        "sts", "service-2"
    )
    # botocore's own method then reads the file (and its extras) through ours: all misses.
    assert packed.misses[0] == "sts/service-2"
    assert all(miss.startswith("sts/") for miss in packed.misses)


def test_a_file_from_another_botocore_or_none_at_all_is_not_used(blob: bytes) -> None:
    header, entries = marshal.loads(blob)  # noqa: S302 (written just above)
    assert packed_loader(marshal.dumps(({**header, "botocore": "0.0.1"}, entries))) is None
    assert packed_loader(marshal.dumps(({**header, "python": [3, 99]}, entries))) is None
    assert packed_loader(b"") is None
    assert packed_loader(b"not marshal data") is None
    assert botocore_data.load_packed() is None  # the repository has no packed file


def test_every_service_the_composition_root_calls_is_packed() -> None:
    wiring = Path(botocore_data.__file__).parents[1] / "wiring.py"
    called = set(re.findall(r'_client\("([a-z0-9-]+)"\)', wiring.read_text()))
    assert called, "no clients found: the pattern no longer matches wiring.py"
    assert called | {"dynamodb"} <= set(SERVICES)
