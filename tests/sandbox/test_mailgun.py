"""The sandbox's Mailgun API: the events search finds accepted messages by our variables."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.fixtures.sandbox import RESEND_KEY


def test_mailgun_events_find_accepted_messages_by_user_variables(client: TestClient) -> None:
    auth = ("api", RESEND_KEY)
    form = {"to": "a@x.test", "v:campaign_id": "4", "v:delivery_id": "9", "v:herald_key": "9"}
    mime = ("message.mime", b"Subject: hi\r\n\r\nhello\r\n", "message/rfc822")
    sent = client.post(
        "/v3/mg.test/messages.mime", data=form, files={"message": mime}, auth=auth
    ).json()
    variables = '{"delivery_id": "9", "campaign_id": "4"}'
    events = client.get(
        "/v3/mg.test/events", params={"event": "accepted", "user-variables": variables}, auth=auth
    )
    assert events.status_code == 200
    [event] = events.json()["items"]
    assert event["event"] == "accepted" and event["recipient"] == "a@x.test"
    assert f"<{event['message']['headers']['message-id']}>" == sent["id"]
    assert event["user-variables"] == {"delivery_id": "9", "campaign_id": "4"}
    assert set(events.json()["paging"]) == {"first", "last", "next", "previous"}
    none = client.get(
        "/v3/mg.test/events", params={"user-variables": '{"delivery_id": "8"}'}, auth=auth
    )
    assert none.json()["items"] == []
    assert client.get("/v3/mg.test/events", params={"user-variables": variables}).status_code == 401
