"""Model outputs are untrusted text: Markdown to HTML with raw HTML escaped and links vetted.

markdown-it-py with ``html`` off escapes every tag a model writes (``<script>``, ``<img
onerror>`` …); links and images keep only http(s), mailto and in-page targets, so a
``javascript:`` link renders as plain text. The page's Content-Security-Policy is a second
wall, not the first.
"""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import urlsplit

from markdown_it import MarkdownIt
from markupsafe import Markup

_SAFE_SCHEMES = frozenset({"http", "https", "mailto"})


def _is_safe_link(url: str) -> bool:
    """Allow absolute http(s)/mailto links and in-page anchors; refuse everything else."""
    cleaned = "".join(ch for ch in url if ch.isprintable() and not ch.isspace())
    if cleaned.startswith("#"):
        return True
    return urlsplit(cleaned).scheme.lower() in _SAFE_SCHEMES


def _markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False})
    md.validateLink = _is_safe_link
    return md


_MD = _markdown()


@lru_cache(maxsize=4096)
def render_markdown(text: str) -> Markup:
    """Safe HTML for one message; code blocks stay code blocks (``<pre><code>``)."""
    return Markup(_MD.render(text))
