"""The settings example (``.env.example``), written from :class:`~core.settings.Settings`.

Every setting in the order the class declares it, under the ``# topic`` comment it follows,
with its docstring as comments, its variable name and its default. Secrets are left
commented out and empty, so the file can never hand a key to anyone, and a copy of it changes
nothing until a line is edited. ``make env-example`` (``herald config example``) rewrites it;
a test fails while the committed file differs.
"""

from __future__ import annotations

import inspect
import io
import itertools
import json
import textwrap
import tokenize
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

from pydantic import SecretStr
from pydantic.fields import FieldInfo

from core.settings import Settings

WIDTH = 92
"""The longest comment line, as the rest of the repository wraps prose."""

HEADER = """\
# Herald's settings: every variable it reads, with its meaning and its default.
# Generated from core/settings.py by `make env-example`: edit the settings, not this file.
#
# Copy it to .env and change what you need. A variable set in the environment wins over
# .env, and .env over a file in the secrets folder (HERALD_SECRETS_DIR, else /run/secrets):
# a file per setting named like its variable in lower case (herald_secret_key), holding the
# value. Secrets stay commented out here: set them in .env or as secret files.
"""


def render() -> str:
    """The whole example file: every setting with its comments, name and default."""
    topics = _topics()
    out = [HEADER]
    for name, field in Settings.model_fields.items():
        if name in topics:
            out.append(f"\n# ==== {topics[name]} ====\n")
        out.append("\n" + _comment(_meaning(field)) + _assignment(name, field) + "\n")
    return "".join(out)


def write(path: Path) -> None:
    """Write the example file to ``path``."""
    path.write_text(render(), encoding="utf-8")


def env_name(name: str) -> str:
    """The environment variable of the setting ``name``."""
    return f"{Settings.model_config.get('env_prefix', '')}{name}".upper()


def is_secret(field: FieldInfo) -> bool:
    """Whether the setting holds a secret (a ``SecretStr``, or a list of them)."""
    return _mentions_secret(field.annotation)


def _mentions_secret(annotation: Any) -> bool:
    if annotation is SecretStr:
        return True
    return any(_mentions_secret(argument) for argument in get_args(annotation))


def _meaning(field: FieldInfo) -> str:
    text = (field.description or "").replace("``", "`")
    choices = get_args(field.annotation) if get_origin(field.annotation) is Literal else ()
    if choices:
        named = ", ".join(str(choice) if choice else "(empty)" for choice in choices)
        text += f"\n\nOne of: {named}."
    return text


def _comment(text: str) -> str:
    paragraphs = (_unbroken_code(" ".join(part.split())) for part in text.split("\n\n"))
    wrapped = (
        textwrap.fill(p, WIDTH, initial_indent="# ", subsequent_indent="# ", break_on_hyphens=False)
        for p in paragraphs
    )
    return "".join(f"{block}\n".replace(_KEEP, " ") for block in wrapped if block.strip("# "))


_KEEP = "\x00"
"""Stands for a space inside a `code` span while wrapping: a command is never cut in two."""


def _unbroken_code(text: str) -> str:
    parts = text.split("`")
    return "`".join(part.replace(" ", _KEEP) if i % 2 else part for i, part in enumerate(parts))


def _assignment(name: str, field: FieldInfo) -> str:
    if is_secret(field):
        return f"# {env_name(name)}="
    return f"{env_name(name)}={_value(field.get_default(call_default_factory=True))}"


def _value(default: object) -> str:
    if isinstance(default, bool):
        return "true" if default else "false"
    if isinstance(default, float) and default.is_integer():
        return str(int(default))
    if isinstance(default, Path):
        return default.as_posix()
    if isinstance(default, list | dict):
        return json.dumps(default)
    return str(default)


def _topics() -> dict[str, str]:
    """The ``# topic`` comment of the class body each setting follows, by setting name."""
    source = textwrap.dedent(inspect.getsource(Settings))
    topics: dict[str, str] = {}
    pending: list[str] = []
    tokens = tokenize.generate_tokens(io.StringIO(source).readline)
    for token, following in itertools.pairwise(tokens):
        # Only a whole-line comment at the class body's indent opens a topic.
        at_body = token.start[1] == 4 and not token.line[:4].strip()
        if token.type == tokenize.COMMENT and at_body and token.line.lstrip().startswith("#"):
            pending.append(token.string.lstrip("# ").strip())
        elif token.type == tokenize.NAME and at_body:  # a statement: a topic's first setting?
            if pending and following.string == ":" and token.string in Settings.model_fields:
                topics[token.string] = " ".join(pending).rstrip(".")
            pending = []
    return topics
