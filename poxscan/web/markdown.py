"""A small, safe Markdown-to-HTML converter for model cards (no new dependency).

It covers what :func:`poxscan.pipelines.model_card.render_model_card` writes: ``#`` headings,
paragraphs, ``-`` lists, pipe tables, ``**bold**``, ``*emphasis*``, ```code``` and
``[text](https://...)`` links. Every piece of text is HTML-escaped *before* any markup is added,
so raw HTML in a card is shown as text, never run; links are kept only for http(s) addresses.
"""

from __future__ import annotations

import re

from markupsafe import Markup, escape

__all__ = ["markdown_to_html"]

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_LIST_ITEM = re.compile(r"^\s*[-*+]\s+(.*)$")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")
_CODE = re.compile(r"`([^`]+)`")
_BOLD = re.compile(r"\*\*(.+?)\*\*")
_EM = re.compile(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])")
_LINK = re.compile(r"\[([^\]]+)\]\((https?://[^\s)]+)\)")


def _inline(text: str) -> str:
    """Escape ``text``, then turn inline Markdown into tags (code spans are left verbatim)."""
    codes: list[str] = []

    def keep_code(m: re.Match[str]) -> str:
        codes.append(f"<code>{escape(m.group(1))}</code>")
        return f"\x00{len(codes) - 1}\x00"

    text = _CODE.sub(keep_code, text)
    out = str(escape(text))
    out = _LINK.sub(
        lambda m: f'<a href="{m.group(2)}" rel="noopener noreferrer">{m.group(1)}</a>', out
    )
    out = _BOLD.sub(r"<strong>\1</strong>", out)
    out = _EM.sub(r"<em>\1</em>", out)
    return re.sub(r"\x00(\d+)\x00", lambda m: codes[int(m.group(1))], out)


def _cells(line: str) -> list[str]:
    line = line.strip()
    if line.startswith("|"):
        line = line[1:]
    if line.endswith("|"):
        line = line[:-1]
    return [c.strip() for c in line.split("|")]


def markdown_to_html(text: str) -> Markup:
    """Convert a model card's Markdown into safe HTML.

    Parameters
    ----------
    text : str
        Markdown source.

    Returns
    -------
    markupsafe.Markup
        HTML in which every character of the source is escaped except the markup this
        function adds; safe to insert into a template.

    Examples
    --------
    >>> str(markdown_to_html("# Card\\n\\nA **bold** <b>claim</b>."))
    '<h1>Card</h1>\\n<p>A <strong>bold</strong> &lt;b&gt;claim&lt;/b&gt;.</p>'
    """
    lines = str(text).replace("\r\n", "\n").split("\n")
    html: list[str] = []
    para: list[str] = []
    i = 0

    def flush_para() -> None:
        if para:
            html.append("<p>" + _inline(" ".join(s.strip() for s in para)) + "</p>")
            para.clear()

    while i < len(lines):
        line = lines[i]
        if not line.strip():
            flush_para()
            i += 1
            continue
        if m := _HEADING.match(line):
            flush_para()
            level = len(m.group(1))
            html.append(f"<h{level}>{_inline(m.group(2))}</h{level}>")
            i += 1
            continue
        if "|" in line and i + 1 < len(lines) and _TABLE_RULE.match(lines[i + 1]):
            flush_para()
            head = _cells(line)
            i += 2
            body: list[list[str]] = []
            while i < len(lines) and "|" in lines[i] and lines[i].strip():
                body.append(_cells(lines[i]))
                i += 1
            rows = [
                "<thead><tr>" + "".join(f"<th>{_inline(c)}</th>" for c in head) + "</tr></thead>"
            ]
            rows.append(
                "<tbody>"
                + "".join(
                    "<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in row) + "</tr>"
                    for row in body
                )
                + "</tbody>"
            )
            # Wide tables scroll inside their own box instead of widening a phone's page.
            html.append('<div class="table-scroll"><table>' + "".join(rows) + "</table></div>")
            continue
        if _LIST_ITEM.match(line):
            flush_para()
            items: list[str] = []
            while i < len(lines) and lines[i].strip() and not _HEADING.match(lines[i]):
                if m := _LIST_ITEM.match(lines[i]):
                    items.append(m.group(1).strip())
                elif items:
                    # A continuation line of the previous item.
                    items[-1] += " " + lines[i].strip()
                i += 1
            html.append("<ul>" + "".join(f"<li>{_inline(it)}</li>" for it in items) + "</ul>")
            continue
        para.append(line)
        i += 1
    flush_para()
    return Markup("\n".join(html))
