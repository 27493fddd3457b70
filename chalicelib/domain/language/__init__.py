"""Language identification for Indian political posts.

``detect(text) -> LanguageResult``: the script decides single-script languages outright; Hindi,
Marathi and Nepali in Devanagari are told apart by naive Bayes over langdetect's profiles;
romanized Hindi vs English is a word model trained on L3Cube-HingLID (see docs/language.md).
"""

from __future__ import annotations

from chalicelib.domain.language.detector import (
    UNDETERMINED,
    LanguageResult,
    TokenTag,
    detect,
)
from chalicelib.domain.language.scripts import dominant_script, script_of

__all__ = [
    "UNDETERMINED",
    "LanguageResult",
    "TokenTag",
    "detect",
    "dominant_script",
    "script_of",
]
