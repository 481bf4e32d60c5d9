"""The posts admin and API: pages render, forms save, each role sees and may do only its part."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from fastapi.testclient import TestClient

from core.audit import audit_trail
from core.database import unit_of_work
from publisher.accounts.tokens import create_api_token
from publisher.accounts.users import find_user
from publisher.posts.feeds import fetch_url
from publisher.posts.models import Post
from publisher.posts.workflow import comments_on
from publisher.web.app import create_app
from tests.fixtures.factories import add_draft, add_post, log_in
from tests.fixtures.paths import DATA
from tests.fixtures.web import post_form

DATA = DATA / "posts"
FORM = {
    "kind": "event",
    "language": "en",
    "title": "Briefing: Tokyo — Kyiv «енергетика»",
    "summary": "A short briefing.",
    "body": "## Agenda\n\n- Grid\n- Insurance",
    "takeaways": "Energy first\nInsurance second",
    "speakers": "佐藤 美咲 | Director | Tokyo Institute | “Together — we rebuild.”",
    "media": "Recording | https://video.example.org/briefing | en",
    "images": "https://photos.example.org/b.jpg | The briefing room in Kyiv",
    "topics": "Events, Japan",
    "timezone": "Asia/Tokyo",
    "starts_at": "2027-05-10T17:00",
}


def _as(client: TestClient, role: str) -> TestClient:
    client.headers["X-CSRF-Token"] = log_in(client, f"{role}@example.com", role)
    return client


def _post(post_id: int) -> Post:
    with unit_of_work() as session:
        post = session.get(Post, post_id)
        assert post is not None
        return post


def _new_draft(status: str = "draft", owner: str | None = None) -> int:
    with unit_of_work() as session:
        user = find_user(session, owner) if owner else None
        return add_draft(session, status=status, created_by_id=user.id if user else None).id


@pytest.mark.parametrize(
    "path", ["/admin/posts", "/admin/posts/new", "/admin/posts/import", "/admin/posts/1"]
)
def test_anonymous_visitors_are_sent_to_the_login_form(client: TestClient, path: str) -> None:
    answer = client.get(path, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/admin/login")


def test_anonymous_api_and_form_posts_are_refused(client: TestClient) -> None:
    assert client.get("/api/posts").status_code == 401
    assert client.post("/api/posts", json={"kind": "news", "title": "x"}).status_code == 401
    answer = client.post("/admin/posts/new", data=FORM, follow_redirects=False)
    assert answer.status_code in (401, 303)
    assert answer.headers.get("location", "/admin/login").startswith("/admin/login")
    with unit_of_work() as session:
        assert session.query(Post).count() == 0


def test_an_editor_writes_a_post_with_the_form_and_sees_it(editor: TestClient) -> None:
    answer = post_form(editor, "/admin/posts/new", FORM)
    assert answer.status_code == 303
    post_id = int(answer.headers["location"].split("/")[3].split("?")[0])
    post = _post(post_id)
    assert post.status == "draft" and post.topics == ["Events", "Japan"]
    assert post.speakers == [
        {
            "name": "佐藤 美咲",
            "role": "Director",
            "organisation": "Tokyo Institute",
            "quote": "“Together — we rebuild.”",
        }
    ]
    assert post.images == [
        {"url": "https://photos.example.org/b.jpg", "alt": "The briefing room in Kyiv"}
    ]
    assert post.starts_at is not None and post.starts_at.hour == 8  # 17:00 in Tokyo is 08:00 UTC
    page = editor.get(answer.headers["location"])
    assert page.status_code == 200
    assert "Briefing: Tokyo — Kyiv «енергетика»" in page.text and "Post created." in page.text
    assert "<h2>Agenda</h2>" in page.text and "Submit for review" in page.text
    assert "/step/approve" not in page.text and "/step/publish" not in page.text
    edit = editor.get(f"/admin/posts/{post_id}/edit")
    assert "佐藤 美咲 | Director | Tokyo Institute | “Together — we rebuild.”" in edit.text
    assert 'value="2027-05-10T17:00"' in edit.text


def test_a_form_with_mistakes_is_shown_again_with_the_reasons(editor: TestClient) -> None:
    bad = {
        **FORM,
        "title": "",
        "media": "Recording | javascript:alert(1) | en",
        "images": "https://x.org/a.jpg",
    }
    answer = post_form(editor, "/admin/posts/new", bad)
    assert answer.status_code == 422
    assert (
        "the title is missing" in answer.text
        and "media link 1 must be an http(s) address" in answer.text
    )
    assert "image 1 needs alt text" in answer.text
    assert "Tokyo Institute" in answer.text  # what was typed is kept


def test_editor_submits_admin_approves_and_publishes_through_the_pages(client: TestClient) -> None:
    editor = _as(client, "editor")
    post_id = int(
        post_form(editor, "/admin/posts/new", FORM).headers["location"].split("/")[3].split("?")[0]
    )
    assert post_form(editor, f"/admin/posts/{post_id}/step/submit", {}).status_code == 303
    assert post_form(editor, f"/admin/posts/{post_id}/step/approve", {}).status_code == 403
    assert _post(post_id).status == "in_review"
    admin = TestClient(create_app())
    _as(admin, "admin")
    page = admin.get(f"/admin/posts/{post_id}")
    assert "/step/approve" in page.text and "Send back to draft" in page.text
    assert post_form(admin, f"/admin/posts/{post_id}/step/approve", {}).status_code == 303
    assert post_form(editor, f"/admin/posts/{post_id}/step/publish", {}).status_code == 403
    answer = post_form(admin, f"/admin/posts/{post_id}/step/publish", {})
    assert answer.headers["location"].endswith("done=publish")
    assert _post(post_id).status == "published"
    history = admin.get(f"/admin/posts/{post_id}").text
    assert "editor@example.com submitted it for review" in history
    assert (
        "admin@example.com approved it" in history and "admin@example.com published it" in history
    )
    public = client.get(f"/posts/{_post(post_id).slug}")
    assert public.status_code == 200 and "佐藤 美咲" in public.text


def test_a_step_out_of_order_from_the_page_says_so(admin: TestClient) -> None:
    post_id = _new_draft()
    answer = post_form(admin, f"/admin/posts/{post_id}/step/publish", {})
    assert answer.headers["location"].endswith("done=refused")
    assert "not possible in the post" in admin.get(answer.headers["location"]).text


def test_sending_back_with_a_comment_and_commenting(admin: TestClient) -> None:
    post_id = _new_draft("in_review")
    post_form(
        admin, f"/admin/posts/{post_id}/step/send_back", {"comment": "Add the Tokyo panel — 東京."}
    )
    post_form(admin, f"/admin/posts/{post_id}/comments", {"comment": "Thanks!"})
    assert _post(post_id).status == "draft"
    with unit_of_work() as session:
        assert [c.body for c in comments_on(session, post_id)] == [
            "Add the Tokyo panel — 東京.",
            "Thanks!",
        ]
    assert "Add the Tokyo panel — 東京." in admin.get(f"/admin/posts/{post_id}").text


def test_an_editor_cannot_edit_someone_elses_post_or_a_published_one(editor: TestClient) -> None:
    with unit_of_work() as session:
        from tests.fixtures.factories import add_user

        add_user(session, "other@example.com", "editor")
    theirs = _new_draft(owner="other@example.com")
    assert editor.get(f"/admin/posts/{theirs}/edit").status_code == 403
    assert post_form(editor, f"/admin/posts/{theirs}/edit", FORM).status_code == 403
    published = _new_draft("published")
    assert post_form(editor, f"/admin/posts/{published}/edit", FORM).status_code == 403
    assert "Edit</a>" not in editor.get(f"/admin/posts/{published}").text


def test_editing_an_approved_post_from_the_page_sends_it_back_to_review(admin: TestClient) -> None:
    post_id = _new_draft("approved")
    form = {**FORM, "title": "A new title"}
    assert post_form(admin, f"/admin/posts/{post_id}/edit", form).status_code == 303
    assert _post(post_id).status == "in_review"


def test_a_translation_is_created_and_linked(editor: TestClient) -> None:
    post_id = _new_draft()
    answer = post_form(editor, f"/admin/posts/{post_id}/translations", {"language": "uk"})
    copy_id = int(answer.headers["location"].split("/")[3])
    copy = _post(copy_id)
    assert copy.translation_of_id == post_id and copy.language == "uk" and copy.status == "draft"
    page = editor.get(f"/admin/posts/{copy_id}").text
    assert f'href="/admin/posts/{post_id}"' in page and "original" in page
    again = post_form(editor, f"/admin/posts/{post_id}/translations", {"language": "uk"})
    assert again.headers["location"].endswith("done=refused")


def test_the_list_filters_by_status(editor: TestClient) -> None:
    with unit_of_work() as session:
        add_draft(session, "Draft one")
        add_post(session, "Published one")
    assert "Draft one" in editor.get("/admin/posts").text
    only_published = editor.get("/admin/posts?status=published").text
    assert "Published one" in only_published and "Draft one" not in only_published


def test_import_page_reports_imported_and_rejected_files(editor: TestClient) -> None:
    files = [
        ("files", ("forum.md", (DATA / "good" / "forum.md").read_bytes(), "text/markdown")),
        ("files", ("no-title.md", (DATA / "bad" / "no-title.md").read_bytes(), "text/markdown")),
        (
            "files",
            ("events.rss", (DATA / "feeds" / "events.rss").read_bytes(), "application/rss+xml"),
        ),
    ]
    data = {"csrf_token": editor.headers["X-CSRF-Token"], "feed_url": "ftp://example.org/feed"}
    answer = editor.post("/admin/posts/import", files=files, data=data)
    assert answer.status_code == 200
    assert "3 imported, 2 rejected" in answer.text
    assert "no-title.md</strong>: missing title" in answer.text
    assert "must start with http:// or https://" in answer.text


def test_the_json_api_follows_the_same_rules(client: TestClient) -> None:
    with unit_of_work() as session:
        from tests.fixtures.factories import add_user

        editor = add_user(session, "api-editor@example.com", "editor")
        admin = add_user(session, "api-admin@example.com", "admin")
        editor_token = create_api_token(session, editor, name="test")
        admin_token = create_api_token(session, admin, name="test")
    as_editor = {"Authorization": f"Bearer {editor_token}"}
    as_admin = {"Authorization": f"Bearer {admin_token}"}
    report = {"kind": "report", "title": "Rebuilding to Last — «звіт»", "topics": ["Research"]}
    created = client.post("/api/posts", headers=as_editor, json=report)
    assert created.status_code == 201, created.text
    post_id = created.json()["id"]
    assert (
        client.post(
            "/api/posts", headers=as_editor, json={"kind": "podcast", "title": "x"}
        ).status_code
        == 422
    )
    assert (
        client.post(f"/api/posts/{post_id}/submit", headers=as_editor).json()["status"]
        == "in_review"
    )
    assert client.post(f"/api/posts/{post_id}/approve", headers=as_editor).status_code == 403
    assert client.post(f"/api/posts/{post_id}/publish", headers=as_admin).status_code == 409
    assert (
        client.post(f"/api/posts/{post_id}/approve", headers=as_admin).json()["status"]
        == "approved"
    )
    assert client.post(f"/api/posts/{post_id}/publish", headers=as_editor).status_code == 403
    published = client.post(f"/api/posts/{post_id}/publish", headers=as_admin).json()
    assert published["status"] == "published" and published["announcement_id"] is None
    shown = client.get(f"/api/posts/{post_id}", headers=as_editor).json()
    assert shown["title"] == "Rebuilding to Last — «звіт»" and shown["translations"] == {
        "en": post_id
    }
    assert [
        row["id"] for row in client.get("/api/posts?status=published", headers=as_editor).json()
    ] == [post_id]
    assert client.get("/api/posts/999999", headers=as_editor).status_code == 404
    with unit_of_work() as session:
        actors = [
            entry.actor for entry in audit_trail(session, object_type="post", object_id=post_id)
        ]
    assert actors == [
        "api-admin@example.com",
        "api-admin@example.com",
        "api-editor@example.com",
        "api-editor@example.com",
    ]


def test_the_api_refuses_a_time_without_a_zone(sqlite_db: str) -> None:
    client = TestClient(create_app())
    client.headers["X-CSRF-Token"] = log_in(client)
    naive = {"kind": "event", "title": "Forum", "starts_at": "2026-12-01T09:00:00"}
    assert client.post("/api/posts", json=naive).status_code == 422
    aware = {**naive, "starts_at": "2026-12-01T09:00:00+02:00"}
    assert client.post("/api/posts", json=aware).status_code == 201
    assert client.post("/api/posts", json={"title": "no kind"}).status_code == 422


def test_the_import_page_never_fetches_from_the_servers_own_network(client: TestClient) -> None:
    fetched: list[str] = []

    class Feed(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            fetched.append(self.path)
            body = (DATA / "feeds" / "events.rss").read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = HTTPServer(("127.0.0.1", 0), Feed)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        _as(client, "admin")
        url = f"http://127.0.0.1:{server.server_port}/feed"
        data = {"csrf_token": client.headers["X-CSRF-Token"], "feed_url": url}
        answer = client.post("/admin/posts/import", data=data)
        assert "127.0.0.1 is not a public address" in answer.text
        assert fetched == []
        assert fetch_url(url).startswith(b"<?xml")  # the command line may (its operator's own)
        assert fetched == ["/feed"]
    finally:
        server.shutdown()
