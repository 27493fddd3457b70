"""The packaged marshal copy of the romanized-Hindi model (issue 17: a faster first analyze)."""

from __future__ import annotations

import gzip
import json
from importlib import resources

from chalicelib.domain.language import latin


def blob() -> bytes:
    return resources.files(latin.__package__).joinpath(latin.MODEL_FILE).read_bytes()


def test_the_cache_holds_the_same_model() -> None:
    model = latin.model_from_cache(blob(), latin.model_cache(blob()))
    assert model == json.loads(gzip.decompress(blob()))


def test_a_cache_of_another_model_or_no_cache_at_all_is_not_used() -> None:
    other = gzip.compress(json.dumps({"format": 2, "words": {}, "ngrams": {}}).encode())
    assert latin.model_from_cache(blob(), latin.model_cache(other)) is None
    assert latin.model_from_cache(blob(), b"not marshal data") is None
    assert latin.model_from_cache(blob(), b"") is None


def test_the_packed_tables_answer_as_the_json_model_does() -> None:
    packed = latin.model_from_cache(blob(), latin.model_cache(blob()))
    plain = json.loads(gzip.decompress(blob()))
    assert packed is not None
    for name in ("words", "ngrams"):
        table, reference = packed[name], plain[name]
        assert isinstance(table, latin.PackedTable)
        assert len(table) == len(reference)
        keys = sorted(reference)
        for key in (*keys[:50], *keys[-50:], keys[len(keys) // 2]):
            assert table.get(key) == reference[key]
            assert table[key] == reference[key]
        # Absent keys, including ones that sort before, between and after every stored key.
        for absent in ("", "\x00", "zzzzzzzzzzz", keys[0] + "\x00", "<qqqqqq>"):
            assert absent not in reference
            assert table.get(absent) is None
            assert table.get(absent, 0.0) == 0.0
            assert absent not in table


def test_a_cache_with_a_damaged_table_is_not_used() -> None:
    import hashlib
    import marshal
    import sys

    header = {"sha256": hashlib.sha256(blob()).hexdigest(), "python": list(sys.version_info[:2])}
    assert latin.model_from_cache(blob(), marshal.dumps((header, {"words": 1}))) is None
