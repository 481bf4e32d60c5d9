"""The demo's readers: deterministic subscribers in Ukrainian, English and Japanese.

The names, zones and address domains are data (``content/people.yaml``, which says how a
reader is put together); this module only combines them, so ``herald demo --subscribers N``
gets the same first N readers on every run, for any N. The readers are not a CSV for the
subscriber importer: that reads a fixed list of rows, records an import job and gives the
consent source ``import:<file>``, where the demo makes as many readers as asked, consented by
``herald demo``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import yaml

from publisher.demo.samples import content_folder

PEOPLE_FILE = "people.yaml"


@dataclass(frozen=True, slots=True)
class DemoSubscriber:
    """One reader: address, display name (may be empty), language and time zone."""

    email: str
    name: str
    language: str
    timezone: str


@dataclass(frozen=True, slots=True)
class _Names:
    """One language's names, each as written and in its ASCII form for addresses."""

    given: tuple[tuple[str, str], ...]
    family: tuple[tuple[str, str], ...]
    zones: tuple[str, ...]
    family_first: bool


@dataclass(frozen=True, slots=True)
class _People:
    cycle: tuple[str, ...]
    domains: tuple[str, ...]
    empty_name_every: int
    names: dict[str, _Names]


def demo_subscribers(count: int = 300) -> list[DemoSubscriber]:
    """``count`` fictional readers, always the same ones, with unique lower-case addresses."""
    people = _people()
    return [_subscriber(people, index) for index in range(count)]


def _subscriber(people: _People, index: int) -> DemoSubscriber:
    language = people.cycle[index % len(people.cycle)]
    names = people.names[language]
    given, given_ascii = names.given[index % len(names.given)]
    family, family_ascii = names.family[index % len(names.family)]
    name = f"{family} {given}" if names.family_first else f"{given} {family}"
    if index % people.empty_name_every == people.empty_name_every - 1:
        name = ""
    domain = people.domains[index % len(people.domains)]
    return DemoSubscriber(
        email=f"{given_ascii}.{family_ascii}.{index + 1}@{domain}",
        name=name,
        language=language,
        timezone=names.zones[(index // len(people.cycle)) % len(names.zones)],
    )


@cache
def _people() -> _People:
    data = yaml.safe_load((content_folder() / PEOPLE_FILE).read_text("utf-8"))
    try:
        languages = data["languages"]
        people = _People(
            cycle=tuple(str(item) for item in data["cycle"]),
            domains=tuple(str(item) for item in data["domains"]),
            empty_name_every=int(data["empty_name_every"]),
            names={str(code): _names(value) for code, value in languages.items()},
        )
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(f"{PEOPLE_FILE}: {error!r}") from error
    if not set(people.cycle) <= set(people.names):
        raise ValueError(f"{PEOPLE_FILE}: the cycle names a language without names")
    return people


def _names(value: dict[str, Any]) -> _Names:
    def pairs(key: str) -> tuple[tuple[str, str], ...]:
        found = tuple((str(written), str(ascii_form)) for written, ascii_form in value[key])
        if not found:
            raise ValueError(f"no {key} names")
        return found

    zones = tuple(str(zone) for zone in value["zones"])
    if not zones:
        raise ValueError("no zones")
    return _Names(pairs("given"), pairs("family"), zones, bool(value.get("family_first", False)))
