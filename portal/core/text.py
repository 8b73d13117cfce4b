"""Normalisation of what people type: full-width letters and digits become half-width
(NFKC), surrounding spaces (including the ideographic space) go."""

import unicodedata


def normalize_input(value: str | None) -> str:
    if value is None:
        return ""
    return unicodedata.normalize("NFKC", str(value)).strip()


def normalize_email(value: str | None) -> str:
    """The address as typed, normalised: NFKC, trimmed, inner spaces removed, lower-cased.

    Addresses are matched case-insensitively everywhere in the service."""
    return "".join(normalize_input(value).split()).lower()


# Hiragana ぁ (U+3041) to ゖ (U+3096) and the iteration marks ゝゞ sit 0x60 below their katakana.
_HIRAGANA_TO_KATAKANA = str.maketrans(
    {code: code + 0x60 for code in [*range(0x3041, 0x3097), 0x309D, 0x309E]}
)


def to_katakana(value: str) -> str:
    """Hiragana written as katakana; everything else as it is (NFKC has already made
    half-width kana full-width)."""
    return value.translate(_HIRAGANA_TO_KATAKANA)


def katakana_search_term(value: str) -> str:
    """A search term whose hiragana also finds the katakana names (やまだ → ヤマダ)."""
    return to_katakana(normalize_input(value))
