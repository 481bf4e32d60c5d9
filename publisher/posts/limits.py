"""How much a post may hold: a length limit on every field, sane dates, no NUL characters.

Checked by :func:`publisher.posts.service.check_input`, so the form, the JSON API and imports meet
the same limits. They are generous for real material (a 10k-word report, long speaker
quotes, dozens of takeaways) and stop what no editor writes: a 44 MB speaker name from a
YAML bomb, a NUL byte PostgreSQL cannot store, a date in year 1.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from publisher.posts.input import PostInput

TEXT_LIMITS = {
    "kind": 40,
    "title": 500,
    "language": 20,
    "slug": 200,
    "summary": 5_000,
    "body": 500_000,
    "author": 300,
    "url": 2_000,
    "image_url": 2_000,
    "image_alt": 500,
    "location": 500,
    "timezone": 64,
}
"""Characters per text field of :class:`publisher.posts.input.PostInput`."""
ROW_LIMITS = {
    "speakers": {"name": 200, "role": 300, "organisation": 300, "quote": 10_000},
    "media": {"label": 300, "url": 2_000, "language": 20},
    "images": {"url": 2_000, "alt": 500},
}
"""Characters per key of each row field."""
COUNT_LIMITS = {"takeaways": 100, "speakers": 200, "media": 100, "images": 200, "topics": 50}
"""Items per list field."""
ITEM_LIMITS = {"takeaways": 2_000, "topics": 100}
"""Characters per item of the lists of texts."""
EARLIEST_YEAR, LATEST_YEAR = 1900, 2999


def limit_problems(data: PostInput) -> list[str]:
    """Every limit ``data`` breaks, one readable line each."""
    problems = [*_text_problems(data), *_list_problems(data), *_row_problems(data)]
    for name in ("starts_at", "published_at"):
        problem = date_problem(name.replace("_", " "), getattr(data, name))
        if problem:
            problems.append(problem)
    return problems


def text_problem(label: str, value: str, limit: int) -> str:
    """Why ``value`` cannot be stored as ``label`` (too long, a NUL), or ""."""
    if "\x00" in value:
        return f"{label} contains a NUL character"
    if len(value) > limit:
        return f"{label} is longer than {limit:,} characters"
    return ""


def date_problem(label: str, value: datetime | None) -> str:
    """Why ``value`` is no date a post can have (outside 1900–2999), or ""."""
    if value is None or EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        return ""
    return f"{label} must be between the years {EARLIEST_YEAR} and {LATEST_YEAR}"


def _text_problems(data: PostInput) -> Iterable[str]:
    for name, limit in TEXT_LIMITS.items():
        problem = text_problem(f"the {name.replace('_', ' ')}", getattr(data, name), limit)
        if problem:
            yield problem


def _list_problems(data: PostInput) -> Iterable[str]:
    for name, limit in COUNT_LIMITS.items():
        if len(getattr(data, name)) > limit:
            yield f"{name} may have at most {limit} items"
    for name, limit in ITEM_LIMITS.items():
        singular = name.removesuffix("s")
        for number, item in enumerate(getattr(data, name), 1):
            problem = text_problem(f"{singular} {number}", item, limit)
            if problem:
                yield problem


def _row_problems(data: PostInput) -> Iterable[str]:
    for name, limits in ROW_LIMITS.items():
        singular = name.removesuffix("s")
        for number, row in enumerate(getattr(data, name), 1):
            for key, limit in limits.items():
                label = f"{singular} {number}'s {key}"
                problem = text_problem(label, row.get(key, ""), limit)
                if problem:
                    yield problem
