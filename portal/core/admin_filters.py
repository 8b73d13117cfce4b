"""Staff admin changelists that refuse filter values with control characters.

A NUL in a query string (`?office=%00`) would reach PostgreSQL, which refuses it in a text
value with an error, and the changelist would answer 500. `lookup_allowed` is the admin's own
hook for filter parameters: refusing the value there makes Django answer 400. Search terms
are cleaned rather than refused: the control characters are dropped."""

import re

# C0 and C1 control characters and DEL (tab included: no stored value holds one).
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def has_control_characters(value: str) -> bool:
    return _CONTROL_RE.search(value) is not None


class ControlCharacterSafeAdminMixin:
    """For a ModelAdmin with list filters or search fields."""

    def lookup_allowed(self, lookup, value, request):
        if isinstance(value, str) and has_control_characters(value):
            return False
        return super().lookup_allowed(lookup, value, request)

    def get_search_results(self, request, queryset, search_term):
        return super().get_search_results(request, queryset, _CONTROL_RE.sub("", search_term))
