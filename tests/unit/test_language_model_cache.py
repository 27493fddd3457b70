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
