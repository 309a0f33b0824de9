"""Double metaphone codes for phonetic matching, backed by the ``doublemetaphone`` package.

The package (a wrapper of the reference C++ implementation) is optional: it is imported only
when a tokenizer is created with ``metaphone=True``. Install it with
``pip install doublemetaphone`` (or ``pip install ".[search]"`` in a checkout of the suite).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from functools import lru_cache

from .errors import MissingDependencyError

__all__ = ["double_metaphone", "load_double_metaphone"]

_encoder: Callable[[str], tuple[str, str]] | None = None


def load_double_metaphone() -> Callable[[str], tuple[str, str]]:
    """Return the encoder function, importing the optional package on first use.

    Raises MissingDependencyError (an ImportError) when ``doublemetaphone`` is not installed.
    No Redis work.
    """
    global _encoder
    if _encoder is None:
        try:
            from doublemetaphone import doublemetaphone as encoder
        except ImportError as exc:
            raise MissingDependencyError(
                "metaphone=True needs the 'doublemetaphone' package: "
                "pip install doublemetaphone "
                "(or pip install '.[search]' in a checkout of the walrus suite)"
            ) from exc
        _encoder = encoder
    return _encoder


def _fold_accents(word: str) -> str:
    # The encoder only knows ASCII letters: "über" would lose its first letter, so strip
    # combining marks first ("über" -> "uber") and let it see the base letters.
    decomposed = unicodedata.normalize("NFKD", word)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@lru_cache(maxsize=65536)
def double_metaphone(word: str) -> tuple[str, ...]:
    """The distinct, non-empty double metaphone codes of ``word`` (primary first).

    A word the algorithm cannot encode (digits, non-Latin scripts) is returned unchanged as
    its only code, so it stays searchable.
    No Redis work.
    """
    encoder = load_double_metaphone()
    folded = _fold_accents(word)
    codes: list[str] = []
    if folded.isascii():
        for code in encoder(folded):
            code = code.strip()
            if code and code not in codes:
                codes.append(code)
    return tuple(codes) if codes else (word,)
