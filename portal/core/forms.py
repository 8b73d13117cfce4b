"""Form conventions shared by every page (DESIGN §6): hint and error texts are tied to their
field by aria-describedby, bad fields carry aria-invalid, and the page title says エラー."""

from django import forms


class DescribedBoundField(forms.BoundField):
    def build_widget_attrs(self, attrs, widget=None):
        attrs = super().build_widget_attrs(attrs, widget)
        ids = []
        if self.help_text:
            ids.append(f"{self.id_for_label}-hint")
        ids += [f"{self.id_for_label}-error{n}" for n in range(1, len(self.errors) + 1)]
        if ids:
            attrs["aria-describedby"] = " ".join(ids)
        else:
            attrs.pop("aria-describedby", None)
        if self.errors:
            attrs["aria-invalid"] = "true"
        return attrs


class PortalForm(forms.Form):
    bound_field_class = DescribedBoundField
    # Errors appear in the error summary and beside the field; Django's own list is not used.
    template_name_div = "partials/form_fields.html"
