"""Form conventions shared by every page (docs/architecture.md, "Forms"):
`{{ form.name.as_field_group }}` writes a
field with the template forms/field.html (the label with ※必須, the hint, each error, the
input, and for a password a 表示する button that portal/js/site.js reveals); hint and error
texts are tied to the input by aria-describedby, bad fields carry aria-invalid, and the page
title says エラー."""

from django import forms
from django.forms.renderers import DjangoTemplates


class DescribedBoundField(forms.BoundField):
    @property
    def hint_id(self) -> str:
        return f"{self.id_for_label}-hint"

    @property
    def errors_with_ids(self) -> list[tuple[str, str]]:
        """(id, message) of each error, the ids numbered from 1."""
        return [
            (f"{self.id_for_label}-error{number}", error)
            for number, error in enumerate(self.errors, start=1)
        ]

    def build_widget_attrs(self, attrs, widget=None):
        attrs = super().build_widget_attrs(attrs, widget)
        ids = [self.hint_id] if self.help_text else []
        ids += [error_id for error_id, _error in self.errors_with_ids]
        if ids:
            attrs["aria-describedby"] = " ".join(ids)
        else:
            attrs.pop("aria-describedby", None)
        if self.errors:
            attrs["aria-invalid"] = "true"
        return attrs


class PortalForm(forms.Form):
    bound_field_class = DescribedBoundField


class FormRenderer(DjangoTemplates):
    """Django's template renderer, with the portal's template for a field group."""

    field_template_name = "forms/field.html"
