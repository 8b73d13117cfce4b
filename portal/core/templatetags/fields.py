"""{% field form.name %} and {% field form.password toggle=True %}: one labelled field of the
portal's forms (DESIGN §6) — ※必須 in the label, the hint and each error tied to the input by
aria-describedby (see DescribedBoundField), and for passwords a 表示する button that
portal/js/site.js reveals. Written in Python: as a template include it was the larger part of a
form page's rendering time.

A blank field of a form that is not bound (every form page's GET) is written once per process
and language, and reused: its markup depends only on what `_blank_key` lists. A bound form, a
field with a value, or a key with an unhashable part is written each time."""

from django import template
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from portal.core.forms import error_id, hint_id

register = template.Library()

# Keys are finite (the forms' fields × languages × settings); the cap only guards against a
# form whose labels vary per request.
MAX_BLANK_FIELDS = 256
_blank_markup: dict[tuple, str] = {}


def _blank_key(bound_field):
    """Everything the markup of a blank field of an unbound form is made of (Django's
    BoundField.as_widget and the widget's get_context read no more), or None when the field
    is bound, has a value, or has an unhashable part."""
    form = bound_field.form
    if form.is_bound or bound_field.value() not in (None, "") or bound_field.errors:
        return None  # errors only on a bound form today; never remember one regardless
    field = bound_field.field
    widget = field.widget
    if hasattr(widget, "choices"):
        return None  # options are not part of the key
    key = (
        type(form),
        form.prefix,
        form.auto_id,
        form.use_required_attribute,
        type(form.renderer),
        bound_field.name,
        str(field.label),
        str(field.help_text),
        field.required,
        field.disabled,
        field.localize,
        type(widget),
        getattr(widget, "input_type", None),
        widget.template_name,
        tuple(widget.attrs.items()),
    )
    try:
        hash(key)
    except TypeError:
        return None
    return key


def _written_once(key, write):
    """`write()`, remembered under `key` (with the language) when the key is not None."""
    if key is None:
        return write()
    key = (get_language(), *key)
    try:
        return _blank_markup[key]
    except KeyError:
        pass
    markup = write()
    if len(_blank_markup) < MAX_BLANK_FIELDS:
        _blank_markup[key] = markup
    return markup


def _required_mark() -> str:
    return f'<span class="required">{conditional_escape(_("※必須"))}</span>'


def _error_lines(bound_field, indent: str) -> list[str]:
    field_id = bound_field.id_for_label
    return [
        f'{indent}<p class="error-message" id="{conditional_escape(error_id(field_id, number))}">'
        f"{conditional_escape(error)}</p>"
        for number, error in enumerate(bound_field.errors, start=1)
    ]


@register.simple_tag
def field(bound_field, toggle=False):
    key = _blank_key(bound_field)
    return _written_once(key and (key, toggle), lambda: _field(bound_field, toggle))


def _field(bound_field, toggle):
    field_id = conditional_escape(bound_field.id_for_label)
    required = _required_mark() if bound_field.field.required else ""
    lines = [
        '<div class="field">',
        f'  <label for="{field_id}">{conditional_escape(bound_field.label)}{required}</label>',
    ]
    if bound_field.help_text:
        hint = conditional_escape(bound_field.help_text)
        lines.append(f'  <p class="hint" id="{hint_id(field_id)}">{hint}</p>')
    lines += _error_lines(bound_field, "  ")
    widget = conditional_escape(bound_field.as_widget())
    if toggle:
        widget = (
            f'<div class="password-wrap">{widget}<button type="button" class="button '
            f'button--secondary button--small" data-toggle-password="{field_id}" hidden '
            f'aria-controls="{field_id}" aria-pressed="false">{conditional_escape(_("表示する"))}'
            "</button></div>"
        )
    lines += [f"  {widget}", "</div>"]
    return mark_safe("\n".join(lines))  # noqa: S308 - every part is escaped above


@register.simple_tag
def date_fieldset(legend, hint, year, month, day):
    """Year, month and day inputs as one required fieldset: the legend, the hint and every
    part's errors described on the fieldset, each input inside its own label."""
    keys = [_blank_key(part) for part in (year, month, day)]
    key = None if None in keys else (str(legend), str(hint), *keys)
    return _written_once(key, lambda: _date_fieldset(legend, hint, year, month, day))


def _date_fieldset(legend, hint, year, month, day):
    parts = (year, month, day)
    fieldset_hint_id = conditional_escape(hint_id(year.id_for_label))
    described_by = " ".join(
        [
            fieldset_hint_id,
            *(
                conditional_escape(error_id(part.id_for_label, number))
                for part in parts
                for number in range(1, len(part.errors) + 1)
            ),
        ]
    )
    labels = "\n".join(
        f'      <label{css} for="{conditional_escape(part.id_for_label)}">'
        f"{conditional_escape(part.as_widget())}{conditional_escape(part.label)}</label>"
        for css, part in zip((' class="year"', "", ""), parts, strict=True)
    )
    lines = [
        '<div class="field">',
        f'  <fieldset aria-describedby="{described_by}">',
        f"    <legend>{conditional_escape(legend)}{_required_mark()}</legend>",
        f'    <p class="hint" id="{fieldset_hint_id}">{conditional_escape(hint)}</p>',
        *(line for part in parts for line in _error_lines(part, "    ")),
        '    <div class="date-inputs">',
        labels,
        "    </div>",
        "  </fieldset>",
        "</div>",
    ]
    return mark_safe("\n".join(lines))  # noqa: S308 - every part is escaped above
