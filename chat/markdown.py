"""The model's markdown as HTML that is safe to put in a page: markdown-it-py renders it with raw HTML off, and nh3
cleans the result against an allow-list, so a model that was talked into writing markup cannot run code or load
anything."""

import nh3
from markdown_it import MarkdownIt

# What the chat view shows of markdown: text, code, lists, quotes, tables, links. No images, no styles, no classes.
ALLOWED_TAGS = frozenset({
    "p", "br", "hr", "strong", "em", "del", "s", "code", "pre", "blockquote", "ul", "ol", "li", "a",
    "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td",
})
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}}
# Links that stay links; anything else (javascript:, data:, vbscript:, relative paths) loses its href.
LINK_SCHEMES = frozenset({"http", "https", "mailto"})
LINK_REL = "noopener noreferrer"
# The page's own headings are h1 and h2: the answer's start at h3, so the page's outline stays the page's.
HEADING_SHIFT = 2


def _renderer():
    renderer = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable(["table", "strikethrough"])

    def shifted_heading(state):
        for token in state.tokens:
            if token.type in ("heading_open", "heading_close"):
                token.tag = f"h{min(6, int(token.tag[1]) + HEADING_SHIFT)}"

    renderer.core.ruler.push("shift_headings", shifted_heading)
    renderer.add_render_rule("image", _image_as_link)
    return renderer


def _image_as_link(self, tokens, index, options, env):
    """An image is never loaded (it could track the admin, or carry data out in its URL): it becomes a link the admin
    may follow, named by its alt text."""
    token = tokens[index]
    alt = self.renderInline(token.children or [], options, env) or "image"
    source = token.attrGet("src")
    return f'<a href="{_attribute(source or "")}">Image: {alt}</a>'


def _attribute(value):
    return value.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;").replace(">", "&gt;")


_MARKDOWN = _renderer()


def render_markdown(text):
    """Safe HTML for `text` (markdown); the caller marks it safe for the template."""
    html = _MARKDOWN.render(text or "")
    return nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(LINK_SCHEMES),
        url_relative="deny",
        link_rel=LINK_REL,
        strip_comments=True,
    )
