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
