"""The posts JSON API: list, show, create, update, and the workflow steps.

Works with a bearer token or the admin's cookie (then with the CSRF header). Refusals
answer 403 (role), 409 (status), 422 (what was written) and 404 (no such post).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException, Query, status
from pydantic import BaseModel

from publisher.posts.input import PostInput
from publisher.posts.service import (
    Actor,
    PostInputError,
    PostNotFound,
    PostPermissionError,
    create_post,
    get_post,
    list_posts,
    post_json,
    translation_group,
    update_post,
)
from publisher.posts.workflow import STEPS, WorkflowError, comments_on, take_step
from publisher.web.deps import CurrentUser, DbSession, RowId

router = APIRouter(prefix="/api/posts", tags=["posts"])


class StepIn(BaseModel):
    """An optional comment for a step (sending back needs one)."""

    comment: str = ""


def _refused(error: Exception) -> HTTPException:
    if isinstance(error, PostNotFound):
        return HTTPException(status.HTTP_404_NOT_FOUND, detail=str(error))
    if isinstance(error, PostPermissionError):
        return HTTPException(status.HTTP_403_FORBIDDEN, detail=str(error))
    if isinstance(error, WorkflowError):
        return HTTPException(status.HTTP_409_CONFLICT, detail=str(error))
    if isinstance(error, PostInputError):
        return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=error.problems)
    raise error


_REFUSALS = (PostNotFound, PostPermissionError, WorkflowError, PostInputError)


@router.get("")
def posts_json(
    session: DbSession,
    _user: CurrentUser,
    status_filter: Annotated[str, Query(alias="status")] = "",
) -> list[dict[str, Any]]:
    """Posts, most recently changed first, optionally of one status."""
    try:
        return [post_json(post) for post in list_posts(session, status=status_filter or None)]
    except PostInputError as error:
        raise _refused(error) from error


@router.get("/{post_id}")
def post_detail_json(post_id: RowId, session: DbSession, _user: CurrentUser) -> dict[str, Any]:
    """One post, with its comments and the ids of its language versions."""
    try:
        post = get_post(session, post_id)
    except PostNotFound as error:
        raise _refused(error) from error
    data = post_json(post)
    data["comments"] = [
        {
            "author": item.author,
            "body": item.body,
            "sent_back": item.sent_back,
            "at": item.created_at.isoformat(),
        }
        for item in comments_on(session, post.id)
    ]
    data["translations"] = {item.language: item.id for item in translation_group(session, post)}
    return data


@router.post("", status_code=status.HTTP_201_CREATED)
def create_json(payload: PostInput, session: DbSession, user: CurrentUser) -> dict[str, Any]:
    """Create a draft post."""
    try:
        post = create_post(session, data=payload, actor=Actor.of(user))
    except _REFUSALS as error:
        raise _refused(error) from error
    return post_json(post)


@router.put("/{post_id}")
def update_json(
    post_id: RowId, payload: PostInput, session: DbSession, user: CurrentUser
) -> dict[str, Any]:
    """Replace a post's content (an approved post goes back to review)."""
    try:
        post = get_post(session, post_id)
        update_post(session, post=post, data=payload, actor=Actor.of(user))
    except _REFUSALS as error:
        raise _refused(error) from error
    return post_json(post)


@router.post(
    "/{post_id}/{step}",
    responses={403: {"description": "Not your role"}, 409: {"description": "Not now"}},
)
def step_json(
    post_id: RowId,
    step: str,
    session: DbSession,
    user: CurrentUser,
    payload: Annotated[StepIn | None, Body()] = None,
) -> dict[str, Any]:
    """Take a workflow step: ``submit``, ``approve``, ``send_back`` or ``publish``."""
    if step not in STEPS:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="no such step")
    comment = payload.comment if payload else ""
    try:
        post = get_post(session, post_id)
        result = take_step(session, post=post, actor=Actor.of(user), step=step, comment=comment)
    except _REFUSALS as error:
        raise _refused(error) from error
    data = post_json(post)
    data["announcement_id"] = result.announcement.id if result.announcement else None
    return data
