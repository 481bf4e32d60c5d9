"""The URL map in publisher/web/routes.py is the whole map, and the page templates are set up
in one place.

Each router is mounted once, from routes.py, and includes no other router; every route of
the app (but the app's own health check, home redirect and OpenAPI pages) comes from one of
them; the fixed campaign paths win over the campaign controls' ``{action}``; and importing
the route modules adds no filter or global to the template environment.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute, Match

from publisher.web.app import create_app
from publisher.web.pages import build_templates, templates
from publisher.web.routes import ROUTERS
from tests.fixtures.paths import DATA

APP_OWN = {"/healthz", "/", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}


def _endpoint(app: FastAPI, method: str, path: str) -> str:
    """The name of the endpoint that answers ``method path`` (first full match wins)."""
    scope = {"type": "http", "method": method, "path": path, "root_path": ""}
    for route in _flat(app.routes):
        match, _child = route.matches(scope)
        if match is Match.FULL:
            assert isinstance(route, APIRoute)
            return route.endpoint.__name__
    raise AssertionError(f"no route answers {method} {path}")


def _flat(routes: list[BaseRoute]) -> list[BaseRoute]:
    """The routes in matching order, through the routers the app includes."""
    found: list[BaseRoute] = []
    for route in routes:
        inner = getattr(route, "original_router", None)
        found += _flat(inner.routes) if inner is not None else [route]
    return found


def _module_of(router: APIRouter) -> str:
    return next(r.endpoint.__module__ for r in router.routes if isinstance(r, APIRoute))


def test_no_route_module_includes_another_router() -> None:
    nested = [
        f"{_module_of(router)} includes {type(route).__name__}"
        for router in ROUTERS
        for route in router.routes
        if not isinstance(route, APIRoute)
    ]
    assert nested == []


def test_every_route_comes_from_one_router_of_the_map() -> None:
    mapped = [id(route) for router in ROUTERS for route in router.routes]
    assert len(mapped) == len(set(mapped)), "a router is listed twice"
    app_routes = _flat(create_app().routes)
    unmapped = [
        getattr(route, "path", repr(route))
        for route in app_routes
        if id(route) not in set(mapped) and getattr(route, "path", "") not in APP_OWN
    ]
    assert unmapped == []
    assert sum(id(route) in set(mapped) for route in app_routes) == len(mapped)


def test_fixed_campaign_paths_win_over_the_controls() -> None:
    app = create_app()
    assert _endpoint(app, "POST", "/admin/campaigns/7/send") == "send_from_page"
    assert _endpoint(app, "POST", "/admin/campaigns/7/pause") == "control_from_page"
    assert _endpoint(app, "POST", "/api/campaigns/7/schedule") == "schedule_json"
    assert _endpoint(app, "POST", "/api/campaigns/7/cancel") == "control_json"
    assert _endpoint(app, "GET", "/api/campaigns") == "campaigns_json"


def test_route_modules_leave_the_template_environment_as_built() -> None:
    create_app()  # imports every route module
    fresh = build_templates().env
    assert set(templates.env.filters) == set(fresh.filters)
    assert set(templates.env.globals) == set(fresh.globals)
    assert {"post_time", "local_label"} <= set(fresh.filters)
    assert {"csrf_input", "organisation_name"} <= set(fresh.globals)


def _served(app: FastAPI) -> set[str]:
    served = set()
    for route in _flat(app.routes):
        methods = sorted(getattr(route, "methods", None) or [])
        served.add(f"{','.join(methods) or '-'} {getattr(route, 'path', '')}")
    return served


def test_every_released_url_is_still_served() -> None:
    """Emails already sent link to these URLs and programs call them: none may go or move."""
    lines = (DATA / "released_urls.txt").read_text(encoding="utf-8").splitlines()
    released = {line for line in lines if line and not line.startswith("#")}
    assert len(released) > 100
    assert released - _served(create_app()) == set()
