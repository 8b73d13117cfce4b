"""{% extends %} with the inheritance worked out once (a builtin: it replaces Django's tag).

On every render, Django's {% extends %} looks the parent template up, collects every level's
blocks into a new BlockContext and walks the root template's nodes for its blocks; for a page
that was a seventh of its rendering. When every level names its parent literally and no block
uses {{ block.super }}, which {% block %} renders where is fixed once the templates are
compiled: this tag works it out on the first render and renders the root template with it
from then on. Blocks render as in Django (each in its own context scope). Any other chain —
a parent named by a variable, block.super (the admin's templates) — renders as Django does."""

from django import template
from django.template.base import Node, TextNode
from django.template.loader_tags import BLOCK_CONTEXT_KEY, BlockNode, ExtendsNode, do_extends

register = template.Library()


class _FixedBlocks:
    """The BlockContext of a worked-out chain: each block name's most derived block."""

    def __init__(self, blocks: dict[str, BlockNode]):
        self.blocks = blocks

    def pop(self, name):
        return self.blocks.get(name)

    def push(self, name, block):
        pass  # pop took nothing away

    def get_block(self, name):
        return None  # only block.super asks, and such chains are not worked out


class PlannedExtendsNode(ExtendsNode):
    _plan = None  # (root template, its blocks), or False: render as Django does

    def render(self, context):
        plan = self._plan
        if plan is None:
            plan = self._plan = self._make_plan(context) or False
        # A block context already there: this is a middle level of a chain rendered by
        # Django's way (its child could not be worked out).
        if not plan or BLOCK_CONTEXT_KEY in context.render_context:
            return super().render(context)
        root, blocks = plan
        context.render_context[BLOCK_CONTEXT_KEY] = blocks
        with context.render_context.push_state(root, isolated_context=False):
            return root._render(context)

    def _make_plan(self, context):
        blocks: dict[str, BlockNode] = {}
        level = self
        # Its own render state, so that the parents' lookup history (which lets a template
        # extend another of the same name) is not left behind for the real render.
        with context.render_context.push_state(context.template):
            while True:
                if not _literal(level.parent_name):
                    return None
                for name, block in level.blocks.items():
                    blocks.setdefault(name, block)
                parent = level.get_parent(context)
                first = next((n for n in parent.nodelist if not isinstance(n, TextNode)), None)
                if not isinstance(first, ExtendsNode):
                    break
                level = first
        for block in parent.nodelist.get_nodes_by_type(BlockNode):
            blocks.setdefault(block.name, block)
        if any(_uses_block_super(block) for block in blocks.values()):
            return None
        return parent, _FixedBlocks(blocks)


def _literal(parent_name) -> bool:
    # A quoted name compiles to the string itself; a variable to a Variable.
    return isinstance(parent_name.var, str) and not parent_name.filters


def _uses_block_super(block: BlockNode) -> bool:
    return any(
        "block.super" in node.token.contents
        for node in block.nodelist.get_nodes_by_type(Node)
        if getattr(node, "token", None) is not None
    )


@register.tag("extends")
def planned_extends(parser, token):
    node = do_extends(parser, token)
    return PlannedExtendsNode(node.nodelist, node.parent_name, node.template_dirs)
