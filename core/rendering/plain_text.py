"""The plain-text part wrapped for reading: lines of at most 78 columns.

Wrapping happens once per campaign and language (stage 1), so the text still holds the
per-recipient Jinja placeholders (``{{ name }}``, ``{% if name %}``); each is kept whole, as
one unbreakable word. A word longer than a line (a URL) stands alone on its own line and is
never cut. Lines keep their lead: "> " quotes repeat it on every line, bullets ("• ", "- ",
"1. ") and indented lines continue under their first word. Japanese and Chinese text, written
without spaces, may break between any two characters (not before closing punctuation) and
counts two columns a character, as terminals and mail clients show it.
"""

from __future__ import annotations

import re
import unicodedata

WIDTH = 78

_LEAD = re.compile(r"^((?:> ?)*)([ \t]*(?:(?:[•\-*]|\d{1,3}[.)]|\[\d{1,3}\]) )?)")
_NO_BREAK_AFTER = frozenset("「『（【〔〈《“‘")
_TOKEN = re.compile(
    r"\{\{.*?\}\}|\{%.*?%\}"  # stage-2 placeholders, whole
    r"|[\u3000-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]"  # one CJK char
    r"|\s+"
    r"|[^\s\u3000-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef{]+|\{"
)
_NO_BREAK_BEFORE = frozenset(
    "、。，．・：；？！）」』】〕〉》ー…‥ゝゞ々ぁぃぅぇぉっゃゅょァィゥェォッャュョ"
)


_BRACE = "{{ '{' }}"
"""A literal brace in stage-1 text (see core.rendering.emails): one column once rendered."""


def columns(text: str) -> int:
    """How many columns ``text`` takes on screen (wide East Asian characters count two);
    placeholders count as written, a stage-1 literal brace as one."""
    text = text.replace(_BRACE, "{")
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def wrap_text(text: str, width: int = WIDTH) -> str:
    """Every line of ``text`` wrapped at ``width`` columns (see the module's rules)."""
    return "\n".join(_wrap_line(line, width) for line in text.split("\n"))


def _wrap_line(line: str, width: int) -> str:
    if columns(line) <= width:
        return line
    lead = _LEAD.match(line)
    assert lead is not None  # the pattern matches the empty string
    quote, marker = lead[1], lead[2]
    following = quote + " " * columns(marker)
    pieces = _pieces(line[lead.end() :])
    lines: list[str] = []
    current, used = quote + marker, columns(quote + marker)
    start = len(current)
    for piece in pieces:
        size = columns(piece)
        if piece.isspace():
            if len(current) > start:
                current, used = current + " ", used + 1
            continue
        if used + size > width and len(current) > start:  # never a line of only its lead
            lines.append(current.rstrip())
            current, used = following, columns(following)
            start = len(current)
        current, used = current + piece, used + size
    lines.append(current.rstrip())
    return "\n".join(lines)


def _pieces(text: str) -> list[str]:
    """Words and spaces; each CJK character its own word, glued to closing punctuation."""
    pieces: list[str] = []
    for token in _TOKEN.findall(text):
        if pieces and (_closing(pieces[-1], token) or _glued(pieces[-1], token)):
            pieces[-1] += token
        else:
            pieces.append(token)
    return pieces


def _closing(previous: str, token: str) -> bool:
    """Closing punctuation never starts a line, opening punctuation never ends one
    (kinsoku): each stays with the character it belongs to."""
    if previous.isspace() or token.isspace():
        return False
    return token in _NO_BREAK_BEFORE or previous[-1] in _NO_BREAK_AFTER


def _glued(previous: str, token: str) -> bool:
    """Latin words and placeholders written together (``{{ name }}!``) stay one word."""
    if previous.isspace() or token.isspace():
        return False
    wide = _is_wide(previous[-1]) or _is_wide(token[0])
    return not wide


def _is_wide(char: str) -> bool:
    return unicodedata.east_asian_width(char) in "WF"
