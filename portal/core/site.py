"""Texts an operator sets (SITE_NAME, OFFICE_CONTACT) in the reader's language."""

from django.conf import settings
from django.utils.translation import get_language


def site_text(name: str, language: str | None = None) -> str:
    """settings.<name>_<LANGUAGE> (e.g. SITE_NAME_EN) for `language` (the active one by
    default), or settings.<name>, the default language's, when that is not set."""
    language = language or get_language() or settings.LANGUAGE_CODE
    if language != settings.LANGUAGE_CODE:
        translated = getattr(settings, f"{name}_{language.upper().replace('-', '_')}", "")
        if translated:
            return translated
    return getattr(settings, name)
