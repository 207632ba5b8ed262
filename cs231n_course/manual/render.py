"""Render untrusted Markdown with LaTeX to safe, offline HTML for the TA's answer pages.

Markdown goes through mistune with ``escape=True``: raw HTML in a student's answer is shown as
text, never interpreted, and links with a harmful scheme (``javascript:``...) are replaced.
Images are shown as their alt text (a page a TA opens must not fetch anything). ``$...$`` and
``$$...$$`` become MathML via latex2mathml, which browsers render natively, so the pages need
no JavaScript and no CDN. MathML is re-serialised from a parse with only MathML elements and plain
attributes; anything else (a link, an event attribute, raw HTML inside ``\\text{}``) is shown as
the escaped LaTeX source instead.
"""

from __future__ import annotations

import functools
import html
import re
import xml.etree.ElementTree as ET

import mistune
from latex2mathml.converter import convert as latex_to_mathml

MATHML = "http://www.w3.org/1998/Math/MathML"
ET.register_namespace("", MATHML)
_SAFE_VALUE = re.compile(r"^[\w .%#+-]*$")


def _clean_mathml(markup: str) -> str | None:
    """``markup`` re-serialised with only MathML elements and plain attributes, or None.

    latex2mathml does not escape ``\\text{...}`` content, so its output is parsed as XML and
    rebuilt: anything that is not well-formed MathML, or has a link, style or event attribute,
    is refused; re-serialising escapes every text node.
    """
    try:
        root = ET.fromstring(markup)
    except ET.ParseError:
        return None
    for element in root.iter():
        if not element.tag.startswith(f"{{{MATHML}}}"):
            return None
        for name, value in element.attrib.items():
            lowered = name.lower()
            if lowered.startswith("on") or lowered in ("href", "src", "style") or ":" in name:
                return None
            if not _SAFE_VALUE.match(value):
                return None
    return ET.tostring(root, encoding="unicode", short_empty_elements=True)


def _math(text: str, *, display: str) -> str:
    try:
        out = _clean_mathml(latex_to_mathml(text, display=display))
    except Exception:  # latex2mathml raises many types on bad LaTeX; show the source instead
        out = None
    if out is None:
        return f'<code class="latex">{html.escape(text)}</code>'
    return out


class _Renderer(mistune.HTMLRenderer):
    def image(self, text: str, url: str, title: str | None = None) -> str:
        return f'<span class="image-alt">[image: {html.escape(text or "")}]</span>'


@functools.cache
def _markdown() -> mistune.Markdown:
    md = mistune.create_markdown(
        escape=True, renderer=_Renderer(escape=True), plugins=["math", "table", "strikethrough"]
    )
    # The math plugin registers its own renderers; these replace them (MathML, not MathJax).
    md.renderer.register("inline_math", lambda _r, text: _math(text, display="inline"))
    md.renderer.register("block_math", lambda _r, text: _math(text, display="block"))
    return md


def render(text: str) -> str:
    """Safe HTML for ``text`` (Markdown with ``$`` LaTeX)."""
    return _markdown()(text or "")
