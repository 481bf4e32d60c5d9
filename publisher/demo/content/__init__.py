"""Sample content for the demo and the tests: a fictional policy centre, its posts and readers.

Everything here is written for Herald: the Herald Policy Centre, its forum, its report and
every person named are fictional. The text deliberately mixes scripts and typography
(Cyrillic and Japanese inside English, typographic quotes, en and em dashes, "•" bullets,
non-breaking spaces) because that is what real publications look like and nothing may be
mangled on the way to a reader. Pure data: no database, no clock, no randomness.
"""

from __future__ import annotations

from publisher.demo.content.forum import _forum_en, _forum_uk
from publisher.demo.content.forum_ja import _forum_ja
from publisher.demo.content.panels_report import _panel_cities, _panel_demining, _report
from publisher.demo.content.people import demo_subscribers
from publisher.demo.content.shape import FORUM_KEY, DemoPost, DemoSubscriber, post_url


def demo_posts(base_url: str) -> list[DemoPost]:
    """The demo posts, originals before their translations, links built on ``base_url``."""
    return [
        _forum_en(base_url),
        _forum_uk(base_url),
        _forum_ja(base_url),
        _panel_demining(base_url),
        _panel_cities(base_url),
        _report(),
    ]


__all__ = ["FORUM_KEY", "DemoPost", "DemoSubscriber", "demo_posts", "demo_subscribers", "post_url"]
