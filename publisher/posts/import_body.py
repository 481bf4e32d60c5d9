"""An imported body read as an editor meant it: plain-text structure made Markdown, and a
"Top 10 takeaways" / "Key takeaways" section lifted into the post's takeaways.

Reports often arrive as plain text pasted into a file: headings are short lines of their
own, bullets are "•". Markdown would run such a heading into a paragraph and such bullets
into a wall of text, so a body without any Markdown heading gets its heading lines marked
``##`` and its "•" bullets written as Markdown list items. Bodies that already use Markdown
headings are left as their author wrote them (except the bullets).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_BULLET = re.compile(r"^([ \t]*)[•▪◦‣·●][ \t]+", re.MULTILINE)
_MARKDOWN_HEADING = re.compile(r"^[ \t]{0,3}(#{1,6})[ \t]+(.*?)[ \t#]*$")
_LIST_ITEM = re.compile(r"^[ \t]*(?:[-*+]|\d{1,3}[.)])[ \t]+(.*)$")
_SENTENCE_END = (".", ",", ";", "!", "?", "…", "。", "、", "！", "？")
_NOT_PLAIN_HEADING = re.compile(r"^[ \t]*(?:[-*+>|#]|\d{1,3}[.)][ \t]|!\[|\[|```|---)")
MAX_HEADING_WORDS = 12
TAKEAWAY_HEADINGS = re.compile(
    r"^(?:top[ -]?\d+[ \t]+(?:key[ \t]+)?(?:takeaways|findings)"
    r"|(?:key|main|our)[ \t]+(?:takeaways|findings)|takeaways"
    r"|(?:ключові|головні|основні)[ \t]+(?:висновки|тези)"
    r"|\d+[ \t]+(?:ключових|головних)[ \t]+висновків"
    r"|топ[ -]?\d+[ \t]+висновків|висновки"
    r"|主な(?:ポイント|結論|要点)|\d+つの(?:ポイント|要点)|要点|ポイント)$",
    re.IGNORECASE,
)
"""Headings that name a post's key takeaways (en, uk, ja), compared without a trailing colon."""


@dataclass(frozen=True, slots=True)
class ImportedBody:
    """A body as Markdown, and the takeaways lifted out of it (empty when none were)."""

    markdown: str
    takeaways: list[str]


def read_body(text: str, *, lift_takeaways: bool = True) -> ImportedBody:
    """The body as Markdown, its takeaways section lifted out when ``lift_takeaways``."""
    lines = _BULLET.sub(r"\1- ", text.replace("\r\n", "\n")).split("\n")
    if not any(_MARKDOWN_HEADING.match(line) for line in lines):
        lines = _mark_plain_headings(lines)
    if lift_takeaways:
        lines, takeaways = _lift_takeaways(lines)
    else:
        takeaways = []
    return ImportedBody("\n".join(lines).strip("\n"), takeaways)


def _mark_plain_headings(lines: list[str]) -> list[str]:
    """A short line standing alone between blank lines, not a sentence, becomes ``##``."""
    marked = list(lines)
    for number, line in enumerate(lines):
        before = lines[number - 1] if number else ""
        after = lines[number + 1] if number + 1 < len(lines) else ""
        if (
            _is_plain_heading(line)
            and not before.strip()
            and (not after.strip() or _LIST_ITEM.match(after))
        ):
            marked[number] = "## " + line.strip().rstrip(":：")
    return marked


def _is_plain_heading(line: str) -> bool:
    text = line.strip()
    if not text or _NOT_PLAIN_HEADING.match(line) or "**" in text:
        return False
    if TAKEAWAY_HEADINGS.match(text.rstrip(":：")):
        return True
    return (
        len(text.split()) <= MAX_HEADING_WORDS
        and len(text) <= 90
        and not text.endswith(_SENTENCE_END)
        and not text.endswith(":")
    )


def _lift_takeaways(lines: list[str]) -> tuple[list[str], list[str]]:
    """The first takeaways section's list items, and the lines without that section."""
    for start, line in enumerate(lines):
        heading = _MARKDOWN_HEADING.match(line)
        if heading and TAKEAWAY_HEADINGS.match(heading[2].strip().rstrip(":：")):
            end = _section_end(lines, start, len(heading[1]))
            items = _items(lines[start + 1 : end])
            if items:
                return lines[:start] + lines[end:], items
    return lines, []


def _section_end(lines: list[str], start: int, level: int) -> int:
    for number in range(start + 1, len(lines)):
        heading = _MARKDOWN_HEADING.match(lines[number])
        if heading and len(heading[1]) <= level:
            return number
    return len(lines)


def _items(lines: list[str]) -> list[str]:
    """List items, each with its continuation lines; a section without a list gives none."""
    items: list[str] = []
    for line in lines:
        item = _LIST_ITEM.match(line)
        if item:
            items.append(item[1].strip())
        elif line.strip() and items and line.startswith((" ", "\t")):
            items[-1] += " " + line.strip()
        elif line.strip():
            return []  # prose in the section: leave it to the body, as written
    return items
