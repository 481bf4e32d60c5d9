"""Editor content turned into HTML that is safe to put in an email, and back into plain text.

Editors write Markdown (or paste HTML). Both pass through one allow-list of tags and
attributes that email clients render well; scripts, event handlers, styles and any URL
scheme other than http, https and mailto are removed. ``html_to_text`` gives the
plain-text part of an email a readable version of the same sanitised HTML.
"""

from __future__ import annotations

import re
from html import unescape
from html.parser import HTMLParser

import nh3
from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore

ALLOWED_TAGS: frozenset[str] = frozenset(
    {
        "p",
        "br",
        "strong",
        "em",
        "b",
        "i",
        "s",
        "del",
        "a",
        "ul",
        "ol",
        "li",
        "blockquote",
        "h2",
        "h3",
        "h4",
        "code",
        "pre",
        "hr",
        "img",
        "table",
        "thead",
        "tbody",
        "tr",
        "th",
        "td",
    }
)
ALLOWED_ATTRIBUTES: dict[str, set[str]] = {
    "a": {"href", "title"},
    "img": {"src", "alt", "width", "height"},
}
ALLOWED_URL_SCHEMES: frozenset[str] = frozenset({"http", "https", "mailto"})

_HEADING_LEVELS = {"h1": "h2", "h5": "h4", "h6": "h4"}


def _fit_headings(state: StateCore) -> None:
    """Keep headings inside h2–h4: the post title is the email's top heading."""
    for token in state.tokens:
        if token.type in ("heading_open", "heading_close"):
            token.tag = _HEADING_LEVELS.get(token.tag, token.tag)


def _markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])
    md.core.ruler.push("fit_headings", _fit_headings)
    return md


_MARKDOWN = _markdown()


def sanitize_html(html: str) -> str:
    """Return ``html`` reduced to the email allow-list of tags, attributes and URL schemes."""
    return nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=set(ALLOWED_URL_SCHEMES),
        link_rel="noopener",
        strip_comments=True,
    )


def markdown_to_html(text: str) -> str:
    """Render editor Markdown (raw HTML disabled) to sanitised email HTML."""
    return sanitize_html(_MARKDOWN.render(text))


_BLOCK_TAGS = frozenset({"p", "h2", "h3", "h4", "pre", "table", "ul", "ol", "blockquote", "hr"})
_SPACE_RUN = re.compile(r"[ \t\r\n\f]+")  # not \s: non-breaking spaces are content


def _has_text(line: str) -> bool:
    return bool(line.strip(" >"))


class _TextWriter(HTMLParser):
    """Walks sanitised HTML and writes its plain-text reading."""

    def __init__(self, *, list_links: bool = False) -> None:
        super().__init__(convert_charrefs=True)
        self.list_links = list_links
        self.listed: list[str] = []
        self.lines: list[str] = [""]
        self.quote_depth = 0
        self.in_pre = False
        self.lists: list[int] = []  # 0 for a bulleted list, else the next number
        self.link_href: str | None = None
        self.link_text = ""

    def write(self, text: str) -> None:
        if self.link_href is not None:
            self.link_text += text
        self.lines[-1] += text

    def newline(self, blank: bool = False) -> None:
        """End the current line; with ``blank``, also leave an empty line after text."""
        prefix = "> " * self.quote_depth
        if _has_text(self.lines[-1]):
            self.lines.append(prefix)
        else:
            self.lines[-1] = prefix
        if blank and len(self.lines) > 1 and _has_text(self.lines[-2]):
            self.lines.append(prefix)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag in _BLOCK_TAGS:
            self.newline(blank=True)
        if tag == "blockquote":
            self.quote_depth += 1
            self.lines[-1] = "> " * self.quote_depth
        elif tag in ("ul", "ol"):
            self.lists.append(0 if tag == "ul" else 1)
        elif tag == "li":
            self.start_item()
        elif tag == "a":
            self.link_href, self.link_text = attributes.get("href") or "", ""
        elif tag == "img" and attributes.get("alt"):
            self.write(f"[{attributes['alt']}]")
        elif tag == "br" or tag == "tr":
            self.newline()
        elif tag in ("td", "th") and _has_text(self.lines[-1]):
            self.lines[-1] = self.lines[-1].rstrip(" ") + " | "
        elif tag == "pre":
            self.in_pre = True
        elif tag == "hr":
            self.write("———")
            self.newline(blank=True)

    def start_item(self) -> None:
        self.newline()
        indent = "  " * (len(self.lists) - 1)
        number = self.lists[-1] if self.lists else 0
        self.write(f"{indent}{number}. " if number else f"{indent}• ")
        if number:
            self.lists[-1] += 1

    def reference(self, href: str) -> str:
        """How a link's target follows its text: `` (url)``, or `` [n]`` when listed."""
        if not self.list_links:
            return f" ({href})"
        if href not in self.listed:
            self.listed.append(href)
        return f" [{self.listed.index(href) + 1}]"

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self.link_href is not None:
            href, text = self.link_href, self.link_text.strip()
            self.link_href = None
            if href and href not in (text, f"mailto:{text}"):
                self.write(self.reference(href))
        elif tag == "blockquote":
            self.quote_depth = max(0, self.quote_depth - 1)
        elif tag in ("ul", "ol") and self.lists:
            self.lists.pop()
        elif tag == "pre":
            self.in_pre = False
        if tag in _BLOCK_TAGS:
            self.newline(blank=True)

    def handle_data(self, data: str) -> None:
        if self.in_pre:
            for number, line in enumerate(data.split("\n")):
                if number:
                    self.newline()
                self.write(line)
            return
        text = _SPACE_RUN.sub(" ", data)
        if not _has_text(self.lines[-1]):
            text = text.lstrip(" ")
        self.write(text)

    def text(self) -> str:
        lines = [line.rstrip(" ") for line in self.lines]
        joined = "\n".join(line if _has_text(line) else "" for line in lines)
        text = re.sub(r"\n{3,}", "\n\n", joined).strip("\n")
        if self.listed:
            text += "\n\n" + "\n".join(f"[{n}] {url}" for n, url in enumerate(self.listed, 1))
        return text


def html_to_text(html: str, *, list_links: bool = False) -> str:
    """Return a plain-text reading of sanitised HTML: paragraphs, bullets, links written out
    after their text, or (``list_links``) numbered there and listed at the end."""
    writer = _TextWriter(list_links=list_links)
    writer.feed(html)
    writer.close()
    return writer.text()


_BULLET = re.compile(r"^(\s*)• ", re.MULTILINE)
_HEADING_START = re.compile(r"<h([1-6])\b[^>]*>", re.IGNORECASE)


def _mark_heading(match: re.Match[str]) -> str:
    return match[0] + ("## " if match[1] in "123" else "### ")


def html_to_markdown(html: str) -> str:
    """Markdown from (feed) HTML: sanitised, then read as text with lists kept as lists.

    Headings, paragraphs, bullets, numbered items and quotes survive; links are written
    out as ``text (url)``; other formatting is dropped.
    """
    marked = _HEADING_START.sub(_mark_heading, html)
    return _BULLET.sub(r"\1- ", html_to_text(sanitize_html(marked)))


# Teasers, ledes and images -------------------------------------------------------------------

EMAIL_CONTENT_WIDTH = 576
"""Pixels inside the 32px side padding of the 640px email body (MJML's own rule)."""
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f]")
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")
_IMG = re.compile(r"<img\b[^>]*>", re.IGNORECASE)
_WIDTH = re.compile(r'\swidth="(\d*)"', re.IGNORECASE)
_HEIGHT = re.compile(r'\sheight="\d*"', re.IGNORECASE)
_HREF = re.compile(r'<a\b[^>]*\bhref="([^"]*)"', re.IGNORECASE)


def word_count(text: str) -> int:
    """Words in editor text; Japanese and Chinese, written without spaces, count a word per
    two characters."""
    cjk = len(_CJK.findall(text))
    return len(_CJK.sub(" ", text).split()) + cjk // 2


def _comparable(text: str) -> str:
    plain = html_to_text(markdown_to_html(text))
    return " ".join(plain.split()).casefold().rstrip(" .!?…。")


def drop_repeated_lede(body: str, summary: str) -> str:
    """The Markdown body without its first paragraph when that paragraph repeats the summary
    (the same words, or the summary followed by nothing new)."""
    parts = _PARAGRAPH_BREAK.split(body.strip("\n"), maxsplit=1)
    first, rest = parts[0], parts[1] if len(parts) > 1 else ""
    lede = _comparable(summary)
    if lede and _comparable(first) == lede:
        return rest.lstrip("\n")
    return body


def first_paragraph(body: str) -> str:
    """The plain text of a Markdown body's first paragraph that is not a heading."""
    for block in _PARAGRAPH_BREAK.split(body.strip("\n")):
        if block.strip() and not block.lstrip().startswith("#"):
            return html_to_text(markdown_to_html(block))
    return ""


def _fit_image(match: re.Match[str]) -> str:
    tag = match[0]
    given = _WIDTH.search(tag)
    if given and given[1] and int(given[1]) <= EMAIL_CONTENT_WIDTH:
        return tag
    # A height given for a wider picture would distort it at the narrower width.
    tag = _HEIGHT.sub("", _WIDTH.sub("", tag))
    return tag[:4] + f' width="{EMAIL_CONTENT_WIDTH}"' + tag[4:]


def fit_images(html: str) -> str:
    """Sanitised HTML whose images say how wide they may be: no wider than the email's
    content column (Outlook's Word engine ignores CSS max-width and overflows)."""
    return _IMG.sub(_fit_image, html)


def links_in(html: str) -> set[str]:
    """The link targets in sanitised HTML."""
    return {unescape(href) for href in _HREF.findall(html)}
