"""Admin pages for lists, subscribers, imports and segments.

Editors may look at everything here; creating lists, importing, exporting (personal data
in bulk) and saving segments are for admins. An uploaded file is imported by a worker
(``herald.campaigns.import_subscribers``); its page refreshes itself until the job is done.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, HTTPException, Query, Request, UploadFile, status
from fastapi.responses import HTMLResponse, RedirectResponse, StreamingResponse
from sqlalchemy.orm import Session

from core.audit import record_audit
from core.celery_app import enqueue_after_commit
from core.database import new_session
from core.spreadsheets import safe_writer
from core.tasks import TaskName
from publisher.audience.segments import (
    SegmentError,
    all_segments,
    count_members,
    create_segment,
    get_segment,
)
from publisher.web.deps import Admin, CurrentUser, DbSession, IdValue, RowId
from publisher.web.pages import templates
from subscribers.exports import export_lines
from subscribers.imports import (
    ImportJob,
    create_import,
    recent_imports,
    rejections,
    save_upload,
    summary,
)
from subscribers.lists import (
    ListError,
    all_lists,
    create_list,
    get_list,
    list_names,
    summaries,
)
from subscribers.models import OPT_IN_MODES, MailingList, OptIn
from subscribers.search import SEARCH_LIMIT, search_subscribers

router = APIRouter()


def _page(request: Request, name: str, context: dict[str, Any], code: int = 200) -> HTMLResponse:
    return templates.TemplateResponse(request, name, context, status_code=code)


def _list_or_404(session: Session, list_id: int) -> MailingList:
    mailing_list = get_list(session, list_id)
    if mailing_list is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="no such list")
    return mailing_list


def _counts(session: Session, lists: list[MailingList]) -> dict[int, dict[str, int]]:
    return {item.id: item.counts for item in summaries(session, lists)}


@router.get("/admin/lists", response_class=HTMLResponse, tags=["admin"])
def lists_page(request: Request, session: DbSession, _user: CurrentUser) -> HTMLResponse:
    """Every list with its opt-in mode and subscriptions by status; a form to add one."""
    return _lists(request, session)


def _lists(request: Request, session: Session, error: str = "", code: int = 200) -> HTMLResponse:
    lists = all_lists(session)
    context = {
        "title": "Lists",
        "section": "lists",
        "lists": lists,
        "error": error,
        "counts": _counts(session, lists),
        "opt_in_modes": OPT_IN_MODES,
    }
    return _page(request, "admin/subscribers/lists.html", context, code)


@router.post("/admin/lists", response_class=HTMLResponse, tags=["admin"])
def create_list_from_page(
    request: Request,
    session: DbSession,
    admin: Admin,
    slug: Annotated[str, Form()],
    name: Annotated[str, Form()],
    opt_in: Annotated[str, Form()] = OptIn.DOUBLE,
    public: Annotated[bool, Form()] = False,
    language: Annotated[str, Form()] = "en",
) -> Any:
    """Create a list, then show its page; the form comes back with the problem otherwise."""
    try:
        mailing_list = create_list(
            session,
            slug=slug.strip().lower(),
            name=name,
            opt_in=opt_in,
            public=public,
            language=language.strip() or "en",
        )
    except ListError as error:
        return _lists(request, session, error=str(error), code=status.HTTP_400_BAD_REQUEST)
    record_audit(
        session,
        actor=admin.label,
        action="lists.create",
        object_type="list",
        object_id=mailing_list.id,
        details={"slug": mailing_list.slug},
    )
    return RedirectResponse(f"/admin/lists/{mailing_list.id}", status.HTTP_303_SEE_OTHER)


@router.get("/admin/lists/{list_id}", response_class=HTMLResponse, tags=["admin"])
def list_page(
    list_id: RowId, request: Request, session: DbSession, _user: CurrentUser
) -> HTMLResponse:
    """One list: counts, import form, recent imports, export, its segments."""
    mailing_list = _list_or_404(session, list_id)
    segments = [s for s in all_segments(session) if list_id in s.list_ids]
    context = {
        "title": mailing_list.name,
        "section": "lists",
        "list": mailing_list,
        "counts": _counts(session, [mailing_list])[list_id],
        "imports": recent_imports(session, list_id),
        "segments": segments,
    }
    return _page(request, "admin/subscribers/list.html", context)


@router.post("/admin/lists/{list_id}/imports", tags=["admin"])
def import_from_page(
    list_id: RowId,
    session: DbSession,
    admin: Admin,
    file: Annotated[UploadFile, File()],
    confirmed: Annotated[bool, Form()] = False,
    dry_run: Annotated[bool, Form()] = False,
) -> RedirectResponse:
    """Store the uploaded CSV, queue its import, and go to its progress page."""
    mailing_list = _list_or_404(session, list_id)
    path = save_upload(iter(lambda: file.file.read(1 << 20), b""))
    job = create_import(
        session,
        list_slug=mailing_list.slug,
        file_name=file.filename or "upload.csv",
        path=path,
        confirmed=confirmed,
        dry_run=dry_run,
        actor=admin.label,
    )
    details = {"file": job.file_name, "job": job.id, "dry_run": dry_run, "confirmed": confirmed}
    record_audit(
        session,
        actor=admin.label,
        action="subscribers.import",
        object_type="list",
        object_id=list_id,
        details=details,
    )
    enqueue_after_commit(session, TaskName.IMPORT_SUBSCRIBERS, job.id)
    return RedirectResponse(f"/admin/imports/{job.id}", status.HTTP_303_SEE_OTHER)


def _job_or_404(session: Session, job_id: int) -> ImportJob:
    job = session.get(ImportJob, job_id)
    if job is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="no such import")
    return job


@router.get("/admin/imports/{job_id}", response_class=HTMLResponse, tags=["admin"])
def import_page(
    job_id: RowId, request: Request, session: DbSession, _user: CurrentUser
) -> HTMLResponse:
    """An import's progress (the page reloads itself until it is done) and its outcome."""
    job = _job_or_404(session, job_id)
    context = {
        "title": f"Import #{job.id}",
        "section": "lists",
        "job": job,
        "list": get_list(session, job.list_id),
        "summary": summary(job),
    }
    return _page(request, "admin/subscribers/import.html", context)


@router.get("/api/imports/{job_id}", tags=["admin"])
def import_json(job_id: RowId, session: DbSession, _user: CurrentUser) -> dict[str, Any]:
    """An import's progress and counts."""
    return summary(_job_or_404(session, job_id))


@router.get("/admin/imports/{job_id}/rejected.csv", tags=["admin"])
def rejected_rows(job_id: RowId, session: DbSession, _admin: Admin) -> StreamingResponse:
    """The rows an import did not take: line, email, reason."""
    _job_or_404(session, job_id)
    name = f"import-{job_id}-rejected.csv"
    return _csv_download(_rejection_lines(job_id), name)


def _rejection_lines(job_id: int) -> Iterator[str]:
    # Streamed after the request's unit of work has ended: a session of its own.
    with new_session() as session:
        buffer = io.StringIO()
        writer = safe_writer(buffer, lineterminator="\r\n")
        writer.writerow(["line", "email", "reason"])
        for rejection in rejections(session, job_id):
            writer.writerow([rejection.line, rejection.email, rejection.reason])
            if buffer.tell() > 1 << 16:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()


@router.get("/admin/lists/{list_id}/export.csv", tags=["admin"])
def export_list(list_id: RowId, session: DbSession, admin: Admin) -> StreamingResponse:
    """The list's subscribers as CSV (streamed)."""
    mailing_list = _list_or_404(session, list_id)
    record_audit(
        session,
        actor=admin.label,
        action="subscribers.export",
        object_type="list",
        object_id=list_id,
    )
    return _csv_download(_export(list_id), f"{mailing_list.slug}-subscribers.csv")


def _export(list_id: int) -> Iterator[str]:
    with new_session() as session:
        yield from export_lines(session, list_id)


def _csv_download(lines: Iterator[str], name: str) -> StreamingResponse:
    return StreamingResponse(
        (text.encode("utf-8") for text in lines),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/admin/subscribers", response_class=HTMLResponse, tags=["admin"])
def subscribers_page(
    request: Request, session: DbSession, _user: CurrentUser, q: Annotated[str, Query()] = ""
) -> HTMLResponse:
    """Search subscribers by email: their status and their lists."""
    found = search_subscribers(session, q)
    context = {
        "title": "Subscribers",
        "section": "subscribers",
        "q": q,
        "found": found,
        "limit": SEARCH_LIMIT,
    }
    return _page(request, "admin/subscribers/index.html", context)


@router.get("/admin/segments", response_class=HTMLResponse, tags=["admin"])
def segments_page(request: Request, session: DbSession, _user: CurrentUser) -> HTMLResponse:
    """Every segment with its rules and live count; a form to add one."""
    return _segments(request, session)


def _segments(
    request: Request,
    session: Session,
    *,
    error: str = "",
    form: dict[str, Any] | None = None,
    code: int = 200,
) -> HTMLResponse:
    segments = [(segment, count_members(session, segment)) for segment in all_segments(session)]
    lists = all_lists(session)
    context = {
        "title": "Segments",
        "section": "lists",
        "segments": segments,
        "lists": lists,
        "names": {item.id: item.name for item in lists},
        "error": error,
        "form": form or {},
        "dumps": _pretty,
    }
    return _page(request, "admin/subscribers/segments.html", context, code)


def _pretty(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=1)


@router.post("/admin/segments", response_class=HTMLResponse, tags=["admin"])
def create_segment_from_page(
    request: Request,
    session: DbSession,
    admin: Admin,
    name: Annotated[str, Form()],
    rules: Annotated[str, Form()],
    list_ids: Annotated[list[IdValue], Form()] = [],  # noqa: B006 - FastAPI copies defaults
) -> Any:
    """Save a segment (rules validated), then show it with its live count."""
    form = {"name": name, "rules": rules, "list_ids": list_ids}
    try:
        segment = create_segment(session, name=name, list_ids=list_ids, rules=json.loads(rules))
    except json.JSONDecodeError as error:
        problem = f"The rules are not JSON: {error}"
    except SegmentError as error:
        problem = f"The segment was not saved: {error}"
    else:
        record_audit(
            session,
            actor=admin.label,
            action="segments.create",
            object_type="segment",
            object_id=segment.id,
        )
        return RedirectResponse(f"/admin/segments/{segment.id}", status.HTTP_303_SEE_OTHER)
    return _segments(request, session, error=problem, form=form, code=400)


@router.get("/admin/segments/{segment_id}", response_class=HTMLResponse, tags=["admin"])
def segment_page(
    segment_id: RowId, request: Request, session: DbSession, _user: CurrentUser
) -> HTMLResponse:
    """One segment: its lists, rules and how many it would mail now."""
    try:
        segment = get_segment(session, segment_id)
    except SegmentError as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(error)) from error
    names = list_names(session)
    context = {
        "title": segment.name,
        "section": "lists",
        "segment": segment,
        "count": count_members(session, segment),
        "names": names,
        "dumps": _pretty,
    }
    return _page(request, "admin/subscribers/segment.html", context)
