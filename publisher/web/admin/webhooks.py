"""Outgoing webhooks in the admin (admins only): register endpoints, read the delivery log.

An endpoint's secret is shown on its page: the receiver needs it to check the
``Herald-Signature`` header (see :mod:`publisher.webhooks.outgoing`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel
from sqlalchemy.orm import Session

from core.activity import ACTIVITY_KINDS
from publisher.web.deps import Admin, DbSession, RowId
from publisher.web.pages import templates
from publisher.webhooks import outgoing as webhooks
from publisher.webhooks.models import WebhookEndpoint
from publisher.webhooks.queries import all_endpoints, delivery_log, get_delivery, get_endpoint

router = APIRouter()


def _endpoint(session: Session, endpoint_id: int) -> WebhookEndpoint:
    endpoint = get_endpoint(session, endpoint_id)
    if endpoint is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="no such endpoint")
    return endpoint


def _page(request: Request, template: str, title: str, **context: Any) -> HTMLResponse:
    context |= {"title": title, "section": "stats", "kinds": ACTIVITY_KINDS}
    return templates.TemplateResponse(request, template, context)


NOTICES = {
    "created": "Endpoint added. Copy its secret to the receiving side.",
    "paused": "Endpoint paused.",
    "resumed": "Endpoint resumed.",
    "resent": "Delivery queued again.",
}


@router.get("/admin/stats/webhooks", response_class=HTMLResponse, tags=["webhooks"])
def webhooks_page(request: Request, session: DbSession, _admin: Admin) -> HTMLResponse:
    """The endpoints, a form to add one, and the latest deliveries."""
    endpoints = all_endpoints(session)
    return _page(
        request,
        "admin/webhooks/index.html",
        "Outgoing webhooks",
        endpoints=endpoints,
        log=delivery_log(session),
        notice=NOTICES.get(request.query_params.get("done", ""), ""),
    )


@router.post("/admin/stats/webhooks", tags=["webhooks"], response_model=None)
def add_endpoint(
    request: Request,
    session: DbSession,
    _admin: Admin,
    url: Annotated[str, Form()],
    kinds: Annotated[list[str] | None, Form()] = None,
    description: Annotated[str, Form()] = "",
) -> RedirectResponse | HTMLResponse:
    """Register an endpoint; back to the page with a notice, or the form with the error."""
    try:
        endpoint = webhooks.create_endpoint(
            session, url=url, kinds=kinds or [], description=description
        )
    except webhooks.EndpointError as error:
        endpoints = all_endpoints(session)
        return _page(
            request,
            "admin/webhooks/index.html",
            "Outgoing webhooks",
            endpoints=endpoints,
            log=delivery_log(session),
            error=str(error),
        )
    return RedirectResponse(f"/admin/stats/webhooks/{endpoint.id}?done=created", status_code=303)


@router.get("/admin/stats/webhooks/{endpoint_id}", response_class=HTMLResponse, tags=["webhooks"])
def endpoint_page(
    request: Request, endpoint_id: RowId, session: DbSession, _admin: Admin
) -> HTMLResponse:
    """One endpoint: its secret, how to verify, and its delivery log."""
    endpoint = _endpoint(session, endpoint_id)
    return _page(
        request,
        "admin/webhooks/endpoint.html",
        f"Webhook endpoint #{endpoint.id}",
        endpoint=endpoint,
        log=delivery_log(session, endpoint.id),
        notice=NOTICES.get(request.query_params.get("done", ""), ""),
    )


@router.post("/admin/stats/webhooks/{endpoint_id}/{action}", tags=["webhooks"])
def endpoint_action(
    endpoint_id: RowId, action: str, session: DbSession, _admin: Admin
) -> RedirectResponse:
    """Pause or resume an endpoint."""
    if action not in ("pause", "resume"):
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="no such action")
    _endpoint(session, endpoint_id)
    webhooks.set_active(session, endpoint_id, active=action == "resume")
    done = "paused" if action == "pause" else "resumed"
    return RedirectResponse(f"/admin/stats/webhooks/{endpoint_id}?done={done}", status_code=303)


@router.post("/admin/stats/webhooks/deliveries/{delivery_id}/resend", tags=["webhooks"])
def resend(delivery_id: RowId, session: DbSession, _admin: Admin) -> RedirectResponse:
    """Send a delivered or failed delivery again."""
    delivery = get_delivery(session, delivery_id)
    if delivery is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="no such delivery")
    webhooks.redeliver(session, delivery_id)
    return RedirectResponse(
        f"/admin/stats/webhooks/{delivery.endpoint_id}?done=resent", status_code=303
    )


class EndpointIn(BaseModel):
    """A new endpoint, as the API takes it."""

    url: str
    kinds: list[str] = []
    description: str = ""


class EndpointOut(BaseModel):
    """An endpoint as the API shows it (with its secret: admins only)."""

    id: int
    url: str
    kinds: list[str]
    description: str
    active: bool
    secret: str


@router.get("/api/stats/webhooks", tags=["webhooks"])
def endpoints_api(session: DbSession, _admin: Admin) -> list[EndpointOut]:
    """Every endpoint."""
    rows = all_endpoints(session)
    return [EndpointOut.model_validate(row, from_attributes=True) for row in rows]


@router.post("/api/stats/webhooks", tags=["webhooks"], status_code=201)
def add_endpoint_api(body: EndpointIn, session: DbSession, _admin: Admin) -> EndpointOut:
    """Register an endpoint (422 with the reason when the URL or kinds are wrong)."""
    try:
        endpoint = webhooks.create_endpoint(
            session, url=body.url, kinds=body.kinds, description=body.description
        )
    except webhooks.EndpointError as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, detail=str(error)) from error
    return EndpointOut.model_validate(endpoint, from_attributes=True)
