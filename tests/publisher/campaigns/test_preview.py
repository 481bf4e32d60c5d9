"""Preview as a chosen subscriber, test sends through the transactional path, and each
recipient getting the post in their language."""

from __future__ import annotations

from email import policy
from email.parser import BytesParser

from sqlalchemy import func, select

from core.database import unit_of_work
from core.settings import get_settings
from publisher.campaigns.models import Campaign
from publisher.campaigns.preview import preview_campaign
from publisher.campaigns.proofs import request_test_send
from publisher.campaigns.service import create_campaign, start_sending
from publisher.posts.models import Post
from publisher.sending.models import Delivery
from tests.fixtures.factories import add_announcement, add_list, add_post, add_subscribers
from tests.fixtures.tasks import TaskRecorder
from worker import campaign_mail


def test_preview_as_a_subscriber_has_their_name_language_and_the_real_post_links(db: str) -> None:
    with unit_of_work() as session:
        people = add_subscribers(session, add_list(session), 3)
        campaign = add_announcement(session, "news")
        preview = preview_campaign(session, campaign, email=people[1].email.upper())
    assert preview.language == "uk"
    assert "Мар&#39;яна Коваленко" in preview.html or "Мар'яна Коваленко" in preview.html
    assert "http://testserver/unsubscribe/preview" in preview.html  # inert, see below
    assert "http://testserver/posts/forum" in preview.html  # the real link, not /t/…
    assert "/t/" not in preview.html and "open_url" not in preview.html
    assert "Відписатися" in preview.html  # the Ukrainian labels


def test_test_send_goes_to_the_outbox_and_creates_no_delivery(tasks: TaskRecorder) -> None:
    with unit_of_work() as session:
        people = add_subscribers(session, add_list(session), 2)
        campaign = add_announcement(session, "news", subject="Forum «Відбудова»")
        request_test_send(
            session, campaign, [f"editor@example.org, {people[0].email}"], actor="test"
        )
        campaign_id = campaign.id
    [(name, args)] = tasks.tasks
    assert name == "herald.transactional.test_send"
    assert campaign_mail.send_test(*args) == 2
    files = sorted((get_settings().outbox_dir / "transactional").glob("*.eml"))
    assert len(files) == 2
    parsed = [BytesParser(policy=policy.default).parsebytes(f.read_bytes()) for f in files]
    assert {str(message["Subject"]) for message in parsed} == {"[Test] Forum «Відбудова»"}
    assert {str(message["To"]) for message in parsed} == {"editor@example.org", people[0].email}
    with unit_of_work() as session:
        assert session.scalar(select(func.count()).select_from(Delivery)) == 0
        assert session.get(Campaign, campaign_id).status == "draft"  # type: ignore[union-attr]


def test_each_recipient_gets_their_language_and_others_the_default(tasks: TaskRecorder) -> None:
    with unit_of_work() as session:
        add_subscribers(session, add_list(session), 3)  # en, uk, ja
        original = add_post(session, "Ukraine–Japan Forum")
        translation = add_post(session, "Форум Україна–Японія")
        translation.language, translation.translation_of_id = "uk", original.id
        translation.slug = "forum-uk"
        draft = add_post(session, "ウクライナ・日本フォーラム")
        draft.language, draft.translation_of_id, draft.status = "ja", original.id, "draft"
        campaign = create_campaign(
            session, kind="announcement", list_slugs=["news"], post_ids=[original.id]
        )
        start_sending(session, campaign)
    tasks.run_all()
    folder = get_settings().outbox_dir / f"campaign-{campaign.id}"
    subjects = {}
    for path in folder.glob("*.eml"):
        message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
        subjects[str(message["To"]).split("<")[-1].rstrip(">")] = str(message["Subject"])
    assert subjects == {
        "reader0@example.com": "Ukraine–Japan Forum",
        "reader1@example.com": "Форум Україна–Японія",
        "reader2@example.com": "Ukraine–Japan Forum",  # the ja version is not published
    }


def test_announcing_a_translation_reaches_readers_of_the_original(db: str) -> None:
    with unit_of_work() as session:
        people = add_subscribers(session, add_list(session), 2)
        original = add_post(session, "Forum")
        translation = add_post(session, "Форум")
        translation.language, translation.translation_of_id = "uk", original.id
        campaign = create_campaign(
            session,
            kind="announcement",
            list_slugs=["news"],
            post_ids=[translation.id],
            language="uk",
        )
        english = preview_campaign(session, campaign, email=people[0].email)
        ukrainian = preview_campaign(session, campaign, email=people[1].email)
        assert session.scalar(select(func.count()).select_from(Post)) == 2
    assert (english.subject, ukrainian.subject) == ("Forum", "Форум")
