"""The simple tokenizer's patterns ship precomputed (issue 17: ~8 ms less of every cold start)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from chalicelib.domain import text, text_classes

ROOT = Path(__file__).resolve().parents[2]


def test_the_shipped_patterns_are_the_ones_the_general_classes_derive() -> None:
    # Fails when the classes in text.py or the regex module's Unicode data change: then run
    # `python bench/build_text_classes.py`.
    derived = text.simple_tokenizer_patterns()
    shipped = (text_classes.SIMPLE_PATTERN, text_classes.OUTSIDE_SIMPLE, text_classes.ASCII_PATTERN)
    assert derived == shipped
    assert text._SIMPLE_TOKEN.pattern == derived[0]
    assert text._NOT_SIMPLE.pattern == derived[1]
    assert text._ASCII_TOKEN.pattern == derived[2]


def test_the_generator_writes_the_committed_module_byte_for_byte() -> None:
    spec = importlib.util.spec_from_file_location("builder", ROOT / "bench/build_text_classes.py")
    assert spec is not None and spec.loader is not None
    builder = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(builder)
    rendered = builder.render(*text.simple_tokenizer_patterns())
    assert rendered == Path(text_classes.__file__).read_text(encoding="utf-8")
