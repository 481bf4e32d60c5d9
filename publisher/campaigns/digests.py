"""Digests: the posts published since a list's last digest, and recurring digest schedules.

A schedule (lists, ISO weekdays, a local time in a zone) has a ``next_run_at``; the scheduler
tick turns each due run into one digest campaign and sends it. Claiming a run is one
conditional UPDATE of ``next_run_at`` (and the row is locked with SKIP LOCKED where the
database can), so two ticks at once make one digest; the unique (schedule, run) pair on the
campaign is the last line of defence. A run with nothing new sends nothing and is recorded
as skipped.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from core.database import utcnow
from core.settings import get_settings
from publisher.campaigns.checks import blocking_reasons, run_checks
from publisher.campaigns.models import (
    Campaign,
    CampaignKind,
    CampaignList,
    CampaignStatus,
    DigestSchedule,
)
from publisher.campaigns.scheduling import zone_named
from publisher.campaigns.service import CampaignError, create_campaign, lists_by_slug, start_sending
from publisher.posts.models import Post, PostStatus
from subscribers.lists import slugs_of

FIRST_DIGEST_WINDOW = timedelta(days=7)
"""A list's first digest carries the posts of this last stretch."""
MAX_DIGEST_POSTS = 20
DIGEST_STATUSES = (CampaignStatus.SENDING, CampaignStatus.SENT, CampaignStatus.PAUSED)
"""Digests that count as having gone out (a cancelled or failed one did not)."""
DEFAULT_SUBJECT = "{organisation}: the digest of {date}"
log = logging.getLogger(__name__)


def last_digest_at(session: Session, list_id: int) -> datetime | None:
    """When the list's last digest started going out, if it ever had one."""
    return session.scalar(
        select(func.max(Campaign.started_at))
        .join(CampaignList, CampaignList.campaign_id == Campaign.id)
        .where(
            CampaignList.list_id == list_id,
            Campaign.kind == CampaignKind.DIGEST,
            Campaign.status.in_(DIGEST_STATUSES),
        )
    )


def posts_since_last_digest(
    session: Session, list_ids: Sequence[int], *, now: datetime
) -> list[Post]:
    """The published posts (originals, not translations) since the lists' last digest,
    oldest first: since the earliest of the lists' last digests, so no list misses one."""
    marks = [last_digest_at(session, list_id) for list_id in list_ids]
    first_window = now - FIRST_DIGEST_WINDOW
    since = min((mark or first_window for mark in marks), default=first_window)
    return list(
        session.scalars(
            select(Post)
            .where(
                Post.status == PostStatus.PUBLISHED,
                Post.translation_of_id.is_(None),
                Post.published_at > since,
                Post.published_at <= now,
            )
            .order_by(Post.published_at, Post.id)
            .limit(MAX_DIGEST_POSTS)
        )
    )


def digest_post_ids(session: Session, list_slugs: Sequence[str], *, now: datetime) -> list[int]:
    """The posts a digest to these lists carries when nobody chose them: those published
    since the lists' last digest (:func:`posts_since_last_digest`)."""
    lists = lists_by_slug(session, list_slugs)
    return [
        post.id for post in posts_since_last_digest(session, [item.id for item in lists], now=now)
    ]


def create_digest(
    session: Session,
    *,
    list_slugs: Sequence[str],
    post_ids: Sequence[int] | None = None,
    subject: str = "",
    language: str = "en",
    local_time: bool = False,
    now: datetime | None = None,
) -> Campaign:
    """A draft digest of the posts chosen by hand (in that order), or else of the posts
    published since the lists' last digest."""
    if post_ids is None:
        post_ids = digest_post_ids(session, list_slugs, now=now or utcnow())
    return create_campaign(
        session,
        kind=CampaignKind.DIGEST,
        list_slugs=list_slugs,
        post_ids=post_ids,
        subject=subject,
        language=language,
        local_time=local_time,
    )


# Recurring digests ---------------------------------------------------------------------------


def parse_weekdays(text: str) -> list[int]:
    """ISO weekdays from "mon,thu" or "1,4" (Monday is 1)."""
    names = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    days = set()
    for part in text.lower().replace(" ", "").split(","):
        if part.isdigit() and 1 <= int(part) <= 7:
            days.add(int(part))
        elif part[:3] in names and part:
            days.add(names.index(part[:3]) + 1)
        else:
            raise CampaignError(f"unknown weekday {part!r} (use mon…sun or 1…7)")
    return sorted(days)


def parse_local_time(text: str) -> time:
    """A wall time "09:00"."""
    try:
        return time.fromisoformat(text.strip())
    except ValueError as error:
        raise CampaignError(f"not a time of day: {text!r} (use HH:MM)") from error


def next_run(schedule: DigestSchedule, *, after: datetime) -> datetime | None:
    """The first run strictly after ``after`` (UTC): the schedule's wall time in its zone on
    one of its weekdays. Across a DST change the wall time holds (09:00 stays 09:00 local);
    a wall time that does not exist that day (the spring gap) runs an hour later."""
    if not schedule.weekdays:
        return None
    zone = ZoneInfo(schedule.timezone)
    at = parse_local_time(schedule.local_time)
    day = after.astimezone(zone).date()
    for offset in range(8):
        candidate_day = day + timedelta(days=offset)
        if candidate_day.isoweekday() not in schedule.weekdays:
            continue
        candidate = datetime.combine(candidate_day, at, tzinfo=zone).astimezone(UTC)
        if candidate > after:
            return candidate
    return None


def create_schedule(
    session: Session,
    *,
    name: str,
    list_slugs: Sequence[str],
    weekdays: Sequence[int],
    local_time: str,
    timezone: str,
    subject_template: str = "",
    language: str = "en",
    now: datetime | None = None,
) -> DigestSchedule:
    """A recurring digest, active, with its first run computed."""
    lists = lists_by_slug(session, list_slugs)
    zone_named(timezone)
    parse_local_time(local_time)
    if not weekdays:
        raise CampaignError("a recurring digest needs at least one weekday")
    schedule = DigestSchedule(
        name=name,
        list_ids=sorted(item.id for item in lists),
        weekdays=sorted(set(weekdays)),
        local_time=local_time,
        timezone=timezone,
        language=language,
        subject_template=subject_template or DEFAULT_SUBJECT,
        active=True,
    )
    schedule.next_run_at = next_run(schedule, after=now or utcnow())
    session.add(schedule)
    session.flush()
    return schedule


def list_schedules(session: Session) -> list[DigestSchedule]:
    """Every recurring digest, by id."""
    return list(session.scalars(select(DigestSchedule).order_by(DigestSchedule.id)))


def get_schedule(session: Session, schedule_id: int) -> DigestSchedule:
    """The recurring digest with this id, or :class:`CampaignError`."""
    schedule = session.get(DigestSchedule, schedule_id)
    if schedule is None:
        raise CampaignError(f"no recurring digest {schedule_id}")
    return schedule


@dataclass(frozen=True, slots=True)
class DigestRun:
    """What one due run of a schedule did."""

    schedule_id: int
    run_at: datetime
    campaign_id: int | None
    outcome: str


def run_due_digests(session: Session, *, now: datetime) -> list[DigestRun]:
    """Turn every due run of an active schedule into a digest campaign, sent at once."""
    due = session.scalars(
        select(DigestSchedule)
        .where(DigestSchedule.active.is_(True), DigestSchedule.next_run_at <= now)
        .order_by(DigestSchedule.id)
        .with_for_update(skip_locked=True)
    ).all()
    runs = []
    for schedule in due:
        run_at = schedule.next_run_at
        assert run_at is not None
        if _claim_run(session, schedule, run_at, now=now):
            runs.append(_run(session, schedule, run_at, now=now))
    return runs


def _claim_run(
    session: Session, schedule: DigestSchedule, run_at: datetime, *, now: datetime
) -> bool:
    """Move the schedule past this run, only if nobody else did: True when this tick won."""
    following = next_run(schedule, after=max(now, run_at))
    result = session.execute(
        update(DigestSchedule)
        .where(DigestSchedule.id == schedule.id, DigestSchedule.next_run_at == run_at)
        .values(next_run_at=following, last_run_at=run_at)
        .execution_options(synchronize_session=False)
    )
    session.refresh(schedule)
    return bool(result.rowcount)  # type: ignore[attr-defined]


def _run(
    session: Session, schedule: DigestSchedule, run_at: datetime, *, now: datetime
) -> DigestRun:
    posts = posts_since_last_digest(session, schedule.list_ids, now=now)
    if not posts:
        return _outcome(
            session, schedule, run_at, None, "skipped: no new posts since the last digest"
        )
    try:
        campaign = create_campaign(
            session,
            kind=CampaignKind.DIGEST,
            list_slugs=slugs_of(session, schedule.list_ids),
            post_ids=[post.id for post in posts],
            language=schedule.language,
            subject=_subject(schedule, run_at, len(posts)),
        )
    except CampaignError as error:
        return _outcome(session, schedule, run_at, None, f"failed: {error}")
    campaign.digest_schedule_id, campaign.digest_run_at = schedule.id, run_at
    session.flush()
    reasons = blocking_reasons(run_checks(session, campaign))
    if reasons:
        campaign.error = "; ".join(reasons)
        return _outcome(session, schedule, run_at, campaign.id, f"held as draft: {campaign.error}")
    start_sending(session, campaign)
    return _outcome(session, schedule, run_at, campaign.id, f"sent as campaign #{campaign.id}")


def _outcome(
    session: Session, schedule: DigestSchedule, run_at: datetime, campaign_id: int | None, text: str
) -> DigestRun:
    schedule.last_outcome = text[:200]
    session.flush()
    log.info("recurring digest %s, run %s: %s", schedule.id, run_at.isoformat(), text)
    return DigestRun(schedule.id, run_at, campaign_id, text)


def _subject(schedule: DigestSchedule, run_at: datetime, count: int) -> str:
    local = run_at.astimezone(ZoneInfo(schedule.timezone))
    values = {
        "date": f"{local:%Y-%m-%d}",
        "count": str(count),
        "organisation": get_settings().organisation_name,
    }
    try:
        return (schedule.subject_template or DEFAULT_SUBJECT).format(**values)
    except (KeyError, IndexError, ValueError):
        return schedule.subject_template
