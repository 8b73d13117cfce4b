"""Form conventions shared by every page (DESIGN §6): hint and error texts are tied to their
field by aria-describedby, bad fields carry aria-invalid, and the page title says エラー."""

from html import escape

from django import forms
from django.forms.renderers import DjangoTemplates
from django.utils.safestring import mark_safe


def hint_id(field_id: str) -> str:
    return f"{field_id}-hint"


def error_id(field_id: str, number: int) -> str:
    """The id of a field's `number`th error message (from 1)."""
    return f"{field_id}-error{number}"


class DescribedBoundField(forms.BoundField):
    def build_widget_attrs(self, attrs, widget=None):
        attrs = super().build_widget_attrs(attrs, widget)
        ids = []
        if self.help_text:
            ids.append(hint_id(self.id_for_label))
        ids += [error_id(self.id_for_label, n) for n in range(1, len(self.errors) + 1)]
        if ids:
            attrs["aria-describedby"] = " ".join(ids)
        else:
            attrs.pop("aria-describedby", None)
        if self.errors:
            attrs["aria-invalid"] = "true"
        return attrs


class PortalForm(forms.Form):
    bound_field_class = DescribedBoundField


_INPUT_TEMPLATES = frozenset(
    f"django/forms/widgets/{name}.html"
    for name in ("input", "text", "email", "password", "hidden", "checkbox", "number", "tel")
)


def _attributes(attrs: dict) -> str:
    # As django/forms/widgets/attrs.html: True → bare name, False → left out, in given order;
    # every value escaped as the template's `stringformat:'s'` does.
    return "".join(
        f" {escape(name)}" if value is True else f' {escape(name)}="{escape(str(value))}"'
        for name, value in attrs.items()
        if value is not False
    )


class PortalFormRenderer(DjangoTemplates):
    """Renders the plain <input> widgets in Python (the same markup as Django's input.html and
    attrs.html) and everything else through templates: a page's inputs were a quarter of its
    rendering time."""

    def render(self, template_name, context, request=None):
        if template_name in _INPUT_TEMPLATES:
            widget = context["widget"]
            value = widget["value"]
            value_attribute = f' value="{escape(str(value))}"' if value is not None else ""
            return mark_safe(  # noqa: S308 - every part is escaped above
                f'<input type="{escape(widget["type"])}" name="{escape(widget["name"])}"'
                f"{value_attribute}{_attributes(widget['attrs'])}>"
            )
        return super().render(template_name, context, request)
