"""{% memo [value ...] %}…{% endmemo %}: a region of a page rendered once per process, per
language and per combination of the given values, then reused.

Most of a page is the same for everyone (header, footer, steps, explanations), yet Django
renders every `{% translate %}`, `{% url %}` and `{% static %}` in it on every request; that
was most of a page's cost. Inside a memo, use only the listed values and what is fixed for
the process (settings shown through context processors, URLs, static files). Per-request
content (forms, messages, the CSRF token, a flow's data) stays outside; `{% csrf_token %}`
inside a memo is refused when the template is compiled."""

from django import template
from django.template.defaulttags import CsrfTokenNode
from django.utils.translation import get_language

register = template.Library()

# A memo keyed by a value that is not really fixed (a user's name, say) must not grow without
# bound: past this many outputs it renders without storing.
MAX_OUTPUTS_PER_MEMO = 64


class MemoNode(template.Node):
    def __init__(self, nodelist, values):
        self.nodelist = nodelist
        self.values = values
        self.outputs: dict[tuple, str] = {}

    def render(self, context):
        key = (get_language(), *(value.resolve(context) for value in self.values))
        try:
            return self.outputs[key]
        except KeyError:
            pass
        output = self.nodelist.render(context)
        if len(self.outputs) < MAX_OUTPUTS_PER_MEMO:
            self.outputs[key] = output
        return output


@register.tag
def memo(parser, token):
    values = [parser.compile_filter(bit) for bit in token.split_contents()[1:]]
    nodelist = parser.parse(("endmemo",))
    parser.delete_first_token()
    if nodelist.get_nodes_by_type(CsrfTokenNode):
        raise template.TemplateSyntaxError(
            "{% csrf_token %} is per request: it cannot be inside {% memo %}."
        )
    return MemoNode(nodelist, values)
