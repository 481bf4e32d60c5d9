"""Admin pages for posts: write, review, approve, publish, import.

Editors create and edit their drafts and submit them; admins also approve, send back and
publish. Buttons show only what the role and status allow, and every route checks again
(``publisher.posts.workflow``), so a hand-made request is refused the same way. The JSON API
is :mod:`publisher.web.api.posts`.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, File, Form, HTTPException, Query, Request, UploadFile, status
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.orm import Session

from core.audit import audit_trail
from core.rendering.content import markdown_to_html
from publisher.posts.feeds import fetch_url
from publisher.posts.import_items import ImportReport, ImportSource, Rejection
from publisher.posts.importing import import_sources
from publisher.posts.models import POST_KINDS, POST_STATUSES, Post
from publisher.posts.service import (
    Actor,
    PostInputError,
    PostNotFound,
    PostPermissionError,
    can_edit,
    create_post,
    create_translation,
    get_post,
    is_web_url,
    list_posts,
    translation_group,
    update_post,
)
from publisher.posts.workflow import (
    STEPS,
    WorkflowError,
    add_comment,
    allowed_steps,
    comments_on,
    take_step,
)
from publisher.web.deps import CurrentUser, DbSession, RowId
from publisher.web.forms.posts import (
    COMMON_LANGUAGES,
    COMMON_TIMEZONES,
    PostForm,
    form_from_post,
    input_from_form,
)
from publisher.web.pages import templates

router = APIRouter()

STATUS_LABELS = {
    "draft": "Draft",
    "in_review": "In review",
    "approved": "Approved",
    "published": "Published",
}
DONE = {
    "saved": "Saved.",
    "created": "Post created.",
    "submit": "Submitted for review.",
    "approve": "Approved.",
    "send_back": "Sent back to draft with your comment.",
    "publish": "Published.",
    "announced": "Published. Its announcement is waiting on the Campaigns page.",
    "announced_sent": "Published, and its announcement is being sent.",
    "commented": "Comment added.",
    "translation": "Translation created: write it below.",
    "refused": "That step is not possible in the post's current status.",
}
"""The only status lines a redirect can ask for (the query names a key, never the text)."""


def _see(url: str, **query: Any) -> RedirectResponse:
    target = f"{url}?{urlencode(query)}" if query else url
    return RedirectResponse(target, status_code=status.HTTP_303_SEE_OTHER)


def _page(request: Request, name: str, context: dict[str, Any], code: int = 200) -> HTMLResponse:
    context = {"section": "posts", "status_labels": STATUS_LABELS, **context}
    return templates.TemplateResponse(request, name, context, status_code=code)


def _post_or_404(session: Session, post_id: int) -> Post:
    try:
        return get_post(session, post_id)
    except PostNotFound as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(error)) from error


@router.get("/admin/posts", response_class=HTMLResponse, tags=["admin"])
def posts_page(
    request: Request,
    session: DbSession,
    _user: CurrentUser,
    status_filter: Annotated[str, Query(alias="status")] = "",
) -> HTMLResponse:
    """Posts, most recently changed first, filtered by status."""
    chosen = status_filter if status_filter in POST_STATUSES else ""
    posts = list_posts(session, status=chosen or None)
    context = {"title": "Posts", "posts": posts, "chosen": chosen, "statuses": POST_STATUSES}
    return _page(request, "admin/posts/index.html", context)


def _editor(
    request: Request, form: PostForm, post: Post | None, problems: list[str] | None = None
) -> HTMLResponse:
    context = {
        "title": f"Edit: {post.title}" if post else "New post",
        "form": form,
        "post": post,
        "kinds": POST_KINDS,
        "languages": COMMON_LANGUAGES,
        "timezones": COMMON_TIMEZONES,
        "problems": problems or [],
        "error": "The post was not saved: please correct the fields below." if problems else "",
    }
    return _page(request, "admin/posts/form.html", context, 422 if problems else 200)


@router.get("/admin/posts/new", response_class=HTMLResponse, tags=["admin"])
def new_post_page(request: Request, _user: CurrentUser) -> HTMLResponse:
    """An empty post editor."""
    return _editor(request, PostForm(), None)


@router.post("/admin/posts/new", response_class=HTMLResponse, tags=["admin"])
def create_from_page(
    request: Request, form: Annotated[PostForm, Form()], session: DbSession, user: CurrentUser
) -> Any:
    """Create a draft from the editor form."""
    try:
        post = create_post(session, data=input_from_form(form), actor=Actor.of(user))
    except PostInputError as error:
        return _editor(request, form, None, error.problems)
    return _see(f"/admin/posts/{post.id}", done="created")


@router.get("/admin/posts/import", response_class=HTMLResponse, tags=["admin"])
def import_page(request: Request, _user: CurrentUser) -> HTMLResponse:
    """Upload Markdown files or a feed file, or name a feed URL."""
    return _page(request, "admin/posts/import.html", {"title": "Import posts", "report": None})


@router.post("/admin/posts/import", response_class=HTMLResponse, tags=["admin"])
def import_from_page(
    request: Request,
    session: DbSession,
    user: CurrentUser,
    files: Annotated[list[UploadFile], File()] = [],  # noqa: B006 - FastAPI copies defaults
    feed_url: Annotated[str, Form()] = "",
) -> HTMLResponse:
    """Import what was uploaded; show every post stored and every file rejected, with why."""
    sources = [ImportSource(item.filename, item.file.read()) for item in files if item.filename]
    report = ImportReport()
    url = feed_url.strip()
    bad_url = bool(url) and not is_web_url(url)
    if bad_url:
        reason = "the feed URL must start with http:// or https:// and be a valid address"
        report.rejected.append(Rejection(url, reason))
    elif url:
        try:
            sources.append(ImportSource(url, fetch_url(url, public_only=True)))
        except ValueError as error:
            report.rejected.append(Rejection(url, str(error)))
    stored = import_sources(session, sources=sources, actor=Actor.of(user))
    report.imported, report.notes = stored.imported, stored.notes
    report.rejected.extend(stored.rejected)
    context = {"title": "Import posts", "report": report, "tried": bool(sources or url)}
    # Only a bad URL and nothing else to import: the request itself was unusable.
    return _page(
        request, "admin/posts/import.html", context, 422 if bad_url and not sources else 200
    )


def _missing_languages(group: list[Post]) -> dict[str, str]:
    present = {item.language for item in group}
    return {code: name for code, name in COMMON_LANGUAGES.items() if code not in present}


@router.get("/admin/posts/{post_id}", response_class=HTMLResponse, tags=["admin"])
def post_page(
    request: Request, post_id: RowId, session: DbSession, user: CurrentUser
) -> HTMLResponse:
    """The post as readers will see it, its workflow, comments, audit trail and translations."""
    post = _post_or_404(session, post_id)
    actor = Actor.of(user)
    done = request.query_params.get("done", "")
    group = translation_group(session, post)
    context = {
        "title": post.title,
        "post": post,
        "body_html": markdown_to_html(post.body),
        "steps": allowed_steps(actor, post),
        "may_edit": can_edit(actor, post),
        "comments": comments_on(session, post.id),
        "trail": audit_trail(session, object_type="post", object_id=post.id),
        "translations": group,
        "missing_languages": _missing_languages(group),
        "notice": DONE.get(done, "") if done != "refused" else "",
        "error": DONE["refused"] if done == "refused" else "",
    }
    return _page(request, "admin/posts/post.html", context)


@router.get("/admin/posts/{post_id}/edit", response_class=HTMLResponse, tags=["admin"])
def edit_page(
    request: Request, post_id: RowId, session: DbSession, user: CurrentUser
) -> HTMLResponse:
    """The editor, filled with the post (only for those who may edit it)."""
    post = _post_or_404(session, post_id)
    if not can_edit(Actor.of(user), post):
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="you may not edit this post")
    return _editor(request, form_from_post(post), post)


@router.post("/admin/posts/{post_id}/edit", response_class=HTMLResponse, tags=["admin"])
def update_from_page(
    request: Request,
    post_id: RowId,
    form: Annotated[PostForm, Form()],
    session: DbSession,
    user: CurrentUser,
) -> Any:
    """Save the editor form (an approved post goes back to review)."""
    post = _post_or_404(session, post_id)
    try:
        update_post(session, post=post, data=input_from_form(form), actor=Actor.of(user))
    except PostPermissionError as error:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail=str(error)) from error
    except PostInputError as error:
        return _editor(request, form, post, error.problems)
    return _see(f"/admin/posts/{post.id}", done="saved")


@router.post("/admin/posts/{post_id}/step/{step}", tags=["admin"])
def step_from_page(
    post_id: RowId,
    step: str,
    session: DbSession,
    user: CurrentUser,
    comment: Annotated[str, Form()] = "",
) -> RedirectResponse:
    """Submit, approve, send back or publish; editors get 403 for admins' steps."""
    if step not in STEPS:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="no such step")
    post = _post_or_404(session, post_id)
    try:
        result = take_step(session, post=post, actor=Actor.of(user), step=step, comment=comment)
    except PostPermissionError as error:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail=str(error)) from error
    except (WorkflowError, PostInputError):
        return _see(f"/admin/posts/{post_id}", done="refused")
    done = step
    if result.announcement is not None:
        done = "announced_sent" if result.announcement_sent else "announced"
    return _see(f"/admin/posts/{post_id}", done=done)


@router.post("/admin/posts/{post_id}/comments", tags=["admin"])
def comment_from_page(
    post_id: RowId, session: DbSession, user: CurrentUser, comment: Annotated[str, Form()] = ""
) -> RedirectResponse:
    """Add a comment to the post's review thread."""
    post = _post_or_404(session, post_id)
    try:
        add_comment(session, post=post, actor=Actor.of(user), body=comment)
    except PostInputError:
        return _see(f"/admin/posts/{post_id}")
    return _see(f"/admin/posts/{post_id}", done="commented")


@router.post("/admin/posts/{post_id}/translations", tags=["admin"])
def translate_from_page(
    post_id: RowId, session: DbSession, user: CurrentUser, language: Annotated[str, Form()] = ""
) -> RedirectResponse:
    """Start a translation of the post in another language, and open it in the editor."""
    post = _post_or_404(session, post_id)
    try:
        copy = create_translation(session, post=post, language=language, actor=Actor.of(user))
    except PostInputError:
        return _see(f"/admin/posts/{post_id}", done="refused")
    return _see(f"/admin/posts/{copy.id}/edit")
