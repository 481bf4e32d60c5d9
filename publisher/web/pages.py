"""The pages' template environment, built once: the folder, the filters, the globals and
the context every page gets.

Route modules only render (``templates.TemplateResponse``); none of them adds a filter or a
global, so what a template can use is read here and does not depend on which route modules
happen to be imported.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, PackageLoader, pass_context
from jinja2.runtime import Context
from markupsafe import Markup

from core.settings import get_settings
from publisher.accounts.identity import Identity
from publisher.posts.service import post_time
from publisher.web.deps import CSRF_FIELD


def page_context(request: Request) -> dict[str, Any]:
    """What every page sees of who is asking: the user, their CSRF token, the admin menu."""
    identity: Identity | None = getattr(request.state, "identity", None)
    return {
        "user": identity,
        "csrf_token": identity.csrf_token if identity else "",
        "admin_nav": identity is not None,
    }


@pass_context
def csrf_input(context: Context) -> Markup:
    """The hidden field every admin form carries: ``{{ csrf_input() }}``."""
    field = '<input type="hidden" name="{}" value="{}">'
    # Markup.format escapes the token: only the fixed markup above is trusted.
    return Markup(field).format(CSRF_FIELD, context.get("csrf_token", ""))  # noqa: S704


def local_label(moment: datetime | None) -> str:
    """A schedule time as the campaign page shows it."""
    return moment.strftime("%a %d %b %Y, %H:%M") if moment else "—"


def build_templates() -> Jinja2Templates:
    """The templates under ``templates/web`` with Herald's filters and globals."""
    # From the package (the repository's templates/ folder), wherever Herald is installed;
    # autoescape on, as Jinja2Templates sets it for a directory of its own.
    environment = Environment(loader=PackageLoader("core.templates", "web"), autoescape=True)
    built = Jinja2Templates(env=environment, context_processors=[page_context])
    built.env.globals["organisation_name"] = get_settings().organisation_name
    built.env.globals["csrf_input"] = csrf_input
    # The admin's post page and the public post page share the article and so this filter.
    built.env.filters["post_time"] = post_time
    built.env.filters["local_label"] = local_label
    return built


templates = build_templates()
"""The one template environment every page route renders with."""
