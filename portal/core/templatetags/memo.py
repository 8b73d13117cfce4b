"""{% memo [value ...] %}…{% endmemo %}: a region of a page rendered once per process, per
language and per combination of the given values, then reused.

Most of a page is the same for everyone (header, footer, steps, explanations), yet Django
renders every `{% translate %}`, `{% url %}` and `{% static %}` in it on every request; that
was most of a page's cost. Inside a memo, use only the listed values and what is fixed for
the process (settings shown through context processors, URLs, static files). Per-request
content (forms, messages, the CSRF token, a flow's data) stays outside; `{% csrf_token %}`
inside a memo is refused when the template is compiled.

{% memo if condition %}…{% endmemo %} is used only while the condition holds, and rendered as
usual otherwise: `{% memo if form_is_blank %}` (portal.core.forms.form_context) writes a
form's empty fields once, and a form with values or errors every time.

{% slot value %} inside a memo is the exception: a per-request value (a flow's address, the
CSRF token) written into the stored region on every render, escaped as {{ value }} is. The
region around it is still rendered once, so a page whose text surrounds a few values costs
one lookup and a join instead of a node per piece of text. A slot may not sit inside a
{% for %} or {% with %} of its memo (its value is read in the memo's own context), and a slot
in a template included from a memo is not one of the memo's slots."""

from django import template
from django.template.base import render_value_in_context
from django.template.defaulttags import CsrfTokenNode, ForNode, WithNode
from django.template.loader_tags import BlockNode
from django.utils.safestring import mark_safe
from django.utils.translation import get_language

register = template.Library()

# A memo keyed by a value that is not really fixed (a user's name, say) must not grow without
# bound: past this many outputs it renders without storing.
MAX_OUTPUTS_PER_MEMO = 64

# Written in place of each slot while a memo's region is first rendered; control characters
# that no template text or escaped value contains.
_SLOT_MARK = "\x1eslot\x1f"


class SlotNode(template.Node):
    def __init__(self, value):
        self.value = value
        self.memo = None  # the enclosing memo, set when the memo is compiled

    def render(self, context):
        recording = context.render_context.get(self.memo) if self.memo else None
        if recording is not None:
            recording.append(self)
            return _SLOT_MARK
        return self.render_value(context)

    def render_value(self, context):
        return render_value_in_context(self.value.resolve(context), context)


class MemoNode(template.Node):
    # Not walked by get_nodes_by_type: {% extends %} looks for blocks through the whole parent
    # template on every render, and a memo holds none (refused below).
    child_nodelists = ()

    def __init__(self, nodelist, values, has_slots, condition=None):
        self.nodelist = nodelist
        self.values = values
        self.condition = condition
        self.has_slots = has_slots
        # Per key: the region's text split where its slots go, and those slots in order (an
        # {% if %} on the memo's values may leave some of them out).
        self.outputs: dict[tuple, tuple[tuple[str, ...], tuple[SlotNode, ...]]] = {}

    def render(self, context):
        if self.condition is not None and not self.condition.resolve(context):
            return self.nodelist.render(context)
        key = (get_language(), *(value.resolve(context) for value in self.values))
        try:
            parts, slots = self.outputs[key]
        except KeyError:
            recorded = self._record(context)
            if recorded is None:
                return self.nodelist.render(context)
            if len(self.outputs) < MAX_OUTPUTS_PER_MEMO:
                self.outputs[key] = recorded
            parts, slots = recorded
        if not slots:
            return parts[0]
        written = [parts[0]]
        for slot, part in zip(slots, parts[1:], strict=True):
            written += (slot.render_value(context), part)
        return mark_safe("".join(written))  # noqa: S308 - each slot is escaped as {{ }} is

    def _record(self, context):
        """(parts, slots): the region rendered with each slot's place marked. None when the
        region's own text holds the mark (it is then rendered every time)."""
        if not self.has_slots:
            return (self.nodelist.render(context),), ()
        slots: list[SlotNode] = []
        context.render_context[self] = slots
        try:
            output = self.nodelist.render(context)
        finally:
            del context.render_context[self]
        parts = tuple(output.split(_SLOT_MARK))
        if len(parts) != len(slots) + 1:
            return None
        return parts, tuple(slots)


@register.tag
def slot(parser, token):
    bits = token.split_contents()
    if len(bits) != 2:
        raise template.TemplateSyntaxError("{% slot %} takes one value: {% slot flow.email %}.")
    return SlotNode(parser.compile_filter(bits[1]))


@register.tag
def memo(parser, token):
    bits = token.split_contents()[1:]
    condition = None
    if "if" in bits:
        at = bits.index("if")
        if at != len(bits) - 2:
            raise template.TemplateSyntaxError("{% memo … if condition %}: one value after if.")
        condition = parser.compile_filter(bits[-1])
        bits = bits[:at]
    values = [parser.compile_filter(bit) for bit in bits]
    nodelist = parser.parse(("endmemo",))
    parser.delete_first_token()
    if nodelist.get_nodes_by_type(CsrfTokenNode):
        raise template.TemplateSyntaxError(
            "{% csrf_token %} is per request: it cannot be inside {% memo %} (write the input "
            'with value="{% slot csrf_token %}" instead).'
        )
    if nodelist.get_nodes_by_type(BlockNode):
        raise template.TemplateSyntaxError("{% block %} cannot be inside {% memo %}.")
    if any(inner.has_slots for inner in nodelist.get_nodes_by_type(MemoNode)):
        raise template.TemplateSyntaxError(
            "A {% memo %} with a {% slot %} cannot be inside another {% memo %}."
        )
    for scope in nodelist.get_nodes_by_type((ForNode, WithNode)):
        if scope.get_nodes_by_type(SlotNode):
            raise template.TemplateSyntaxError(
                "{% slot %} cannot be inside a {% for %} or {% with %} within {% memo %}."
            )
    slots = nodelist.get_nodes_by_type(SlotNode)  # not those of an inner memo (not walked)
    node = MemoNode(nodelist, values, has_slots=bool(slots), condition=condition)
    for slot_node in slots:
        slot_node.memo = node
    return node
