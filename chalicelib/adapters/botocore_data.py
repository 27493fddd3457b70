"""botocore's data files for the services we call, parsed at build time (issue 17).

A cold container's first AWS client makes botocore list every service directory it ships
(two passes over ~440 directories, to check that the service exists), then parse the 1.2 MB
endpoints file and the service's model from JSON. ``infra/build.py`` runs :func:`pack` with the
package's own botocore and writes the result beside this module; :class:`PackedLoader` answers
from it (marshal data, decoded per file on first use) and asks botocore's own loader for
anything else. The file names the botocore and Python that wrote it; any mismatch, or no file
(tests, the local stack), means botocore's own loader.
"""

from __future__ import annotations

import marshal
import os
import sys
from pathlib import Path
from typing import Any

from botocore import __version__ as BOTOCORE_VERSION
from botocore.loaders import Loader

PACKED_FILE = "botocore_data.marshal"
# Every service a function creates a client for (``wiring.Container._client``, PynamoDB).
SERVICES = ("dynamodb", "sqs", "sns", "ssm", "socialmessaging")
# What creating a client loads per service; paginators and waiters are loaded only when used.
MODEL_TYPES = ("service-2", "endpoint-rule-set-1")
# What creating a session and a client load besides the service's own files.
DATA = ("endpoints", "partitions", "sdk-default-configuration", "_retry")
BUILTIN_DATA_PATH: str = Loader.BUILTIN_DATA_PATH


def _header() -> dict[str, Any]:
    return {"botocore": BOTOCORE_VERSION, "python": list(sys.version_info[:2])}


def _plain(value: Any) -> Any:
    """botocore parses JSON objects into OrderedDicts (marshal takes only dicts, which keep
    their order too)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def pack(loader: Any = None) -> bytes:
    """The packed file's content, read through botocore's own loader (``infra/build.py``)."""
    source = loader if loader is not None else Loader()
    entries: dict[str, bytes] = {}
    for name in DATA:
        data, path = source.load_data_with_path(name)
        entries[f"data:{name}"] = marshal.dumps(
            (_plain(data), os.path.relpath(path, BUILTIN_DATA_PATH))
        )
    for service in SERVICES:
        for type_name in MODEL_TYPES:
            model = source.load_service_model(service, type_name)
            entries[f"model:{service}/{type_name}"] = marshal.dumps(_plain(model))
    return marshal.dumps((_header(), entries))


class PackedLoader(Loader):  # type: ignore[misc]  # botocore ships no types
    """botocore's loader, answering first from the packed files; counts what it could not."""

    def __init__(self, entries: dict[str, bytes]) -> None:
        super().__init__()
        self._entries = entries
        self._decoded: dict[str, Any] = {}
        self.misses: list[str] = []

    def _packed(self, key: str) -> Any:
        if key not in self._decoded:
            blob = self._entries.get(key)
            # Our package's own file, written by infra/build.py like its .pyc files.
            self._decoded[key] = None if blob is None else marshal.loads(blob)  # noqa: S302
        return self._decoded[key]

    def load_service_model(
        self, service_name: str, type_name: str, api_version: str | None = None
    ) -> Any:
        if api_version is None:
            model = self._packed(f"model:{service_name}/{type_name}")
            if model is not None:
                return model
        self.misses.append(f"{service_name}/{type_name}")
        return super().load_service_model(service_name, type_name, api_version)

    def load_data_with_path(self, name: str) -> Any:
        found = self._packed(f"data:{name}")
        if found is not None:
            data, relative = found
            return data, os.path.join(BUILTIN_DATA_PATH, relative)
        self.misses.append(name)
        return super().load_data_with_path(name)


def packed_loader(blob: bytes) -> PackedLoader | None:
    """A loader over ``blob`` when this botocore and Python wrote it; None otherwise."""
    try:
        header, entries = marshal.loads(blob)  # noqa: S302 (our package's own file)
    except (EOFError, ValueError, TypeError):
        return None
    if header != _header() or not isinstance(entries, dict):
        return None
    return PackedLoader(entries)


def load_packed() -> PackedLoader | None:
    """The loader over the packed file beside this module, if the package has a usable one."""
    path = Path(__file__).with_name(PACKED_FILE)
    try:
        blob = path.read_bytes()
    except OSError:
        return None
    return packed_loader(blob)
