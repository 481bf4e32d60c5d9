"""YAML front matter of imported Markdown: YAML's safe loader without anchors and aliases.

An alias repeats a node without repeating its bytes: nine levels of ten aliases turn a
403-byte file into a 44 MB speaker name ("billion laughs"). Front matter has no use for
them, so the loader refuses the first anchor or alias before building anything.
"""

from __future__ import annotations

from typing import Any

import yaml


class FrontMatterLoader(yaml.SafeLoader):
    """The safe loader, refusing anchors (``&name``) and aliases (``*name``)."""

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        """The next node, or ``ComposerError`` at an alias or an anchor."""
        event: yaml.Event = self.peek_event()  # type: ignore[no-untyped-call]
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            where: Any = event.start_mark
            raise yaml.composer.ComposerError(
                None, None, "anchors and aliases (& and *) are not allowed", where
            )
        return super().compose_node(parent, index)


def load_front_matter(text: str) -> Any:
    """The YAML document ``text`` as Python values, or ``yaml.YAMLError`` saying where."""
    return yaml.load(text, Loader=FrontMatterLoader)  # noqa: S506 - a SafeLoader subclass
