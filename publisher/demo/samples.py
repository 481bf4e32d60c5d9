"""The demo's posts: Markdown files with YAML front matter in ``content/``, read by the importer.

The files are in the format ``herald posts import`` reads (:mod:`publisher.posts.importing`),
so the demo seeds its posts the way an editor imports an archive and every field goes through
the same checks. The Herald Policy Centre, its forum, its report and every person named are
fictional. The text deliberately mixes scripts and typography (Cyrillic and Japanese inside
English, typographic quotes, en and em dashes, "•" bullets, non-breaking spaces written as the
character U+00A0 itself) because real publications do, and nothing may be mangled on the way
to a reader. A line break inside a paragraph is Markdown's two trailing spaces: an editor that
strips trailing whitespace would join those lines.

Links from one demo post to another are written ``{base_url}/posts/<slug>``: the site's
address is known only when the demo runs, so :func:`demo_sources` writes it in place of
``{base_url}`` before the importer reads a file.
"""

from __future__ import annotations

from importlib.resources import files
from importlib.resources.abc import Traversable

from publisher.posts.import_items import ImportItem, ImportSource
from publisher.posts.importing import MARKDOWN_SUFFIXES, parse_source
from publisher.posts.service import check_input

BASE_URL_PLACEHOLDER = "{base_url}"
"""Written in the content files where the site's address belongs."""
FORUM_SLUG = "ukraine-japan-forum-2026"
"""The post the demo announces (it has a Ukrainian and a Japanese translation)."""
DIGEST_SLUGS = ("rebuilding-to-last", "panel-clearing-the-fields", "panel-cities-that-heal")
"""The posts of the demo's digest, in its order: the report, then the two panels."""


def content_folder() -> Traversable:
    """The folder of the demo's data files, inside the installed package."""
    return files("publisher.demo") / "content"


def demo_sources(base_url: str) -> list[ImportSource]:
    """The demo's Markdown files, by name, with ``{base_url}`` replaced by ``base_url``."""
    site = base_url.rstrip("/")
    found = [item for item in content_folder().iterdir() if item.name.endswith(MARKDOWN_SUFFIXES)]
    sources = []
    for item in sorted(found, key=lambda item: item.name):
        text = item.read_text("utf-8").replace(BASE_URL_PLACEHOLDER, site)
        sources.append(ImportSource(item.name, text.encode()))
    return sources


def demo_posts(base_url: str) -> list[ImportItem]:
    """The demo posts as the importer reads them, each checked as storing it checks it.

    A file the importer rejects, or a post the checks refuse, raises (``ImportRejected``,
    ``PostInputError``): the demo's own content has to be importable.
    """
    items = []
    for source in demo_sources(base_url):
        found, _ = parse_source(source)  # a Markdown file is one post or an ImportRejected
        for item in found:
            item.data = check_input(item.data)
            items.append(item)
    return items
