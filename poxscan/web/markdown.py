"""Model-card Markdown to safe HTML, by markdown-it-py (CommonMark with tables, raw HTML off).

The parser runs with its ``js-default`` preset: ``html=False``, so any HTML in a card is shown
as text, never run; everything else is escaped by markdown-it itself. Links are kept only for
http(s) addresses (``javascript:``, ``data:``, relative and other schemes stay plain text) and
carry ``rel="noopener noreferrer"``; list tags are written without line breaks between them.
"""

from __future__ import annotations

import functools
from typing import Any

from markdown_it import MarkdownIt
from markupsafe import Markup

__all__ = ["markdown_to_html"]

_COMPACT = {"bullet_list_open", "bullet_list_close", "ordered_list_open", "ordered_list_close"}
_COMPACT |= {"list_item_open", "list_item_close"}


def _http_only(url: str) -> bool:
    return url.strip().lower().startswith(("http://", "https://"))


def _compact_lists(state: Any) -> None:
    for token in state.tokens:
        if token.type in _COMPACT:
            token.block = False


def _link_open(self, tokens, idx, options, env) -> str:
    tokens[idx].attrSet("rel", "noopener noreferrer")
    return self.renderToken(tokens, idx, options, env)


@functools.cache
def _parser() -> MarkdownIt:
    md = MarkdownIt("js-default")  # html=False, no linkify, no typographer; tables on
    md.validateLink = _http_only
    md.core.ruler.push("compact_lists", _compact_lists)
    md.add_render_rule("link_open", _link_open)
    return md


def markdown_to_html(text: str) -> Markup:
    """Convert a model card's Markdown into safe HTML.

    Parameters
    ----------
    text : str
        Markdown source.

    Returns
    -------
    markupsafe.Markup
        HTML in which all source text is escaped and only Markdown's own markup is added;
        safe to insert into a template.

    Examples
    --------
    >>> str(markdown_to_html("# Card\\n\\nA **bold** <b>claim</b>."))
    '<h1>Card</h1>\\n<p>A <strong>bold</strong> &lt;b&gt;claim&lt;/b&gt;.</p>'
    """
    return Markup(_parser().render(str(text)).strip())
