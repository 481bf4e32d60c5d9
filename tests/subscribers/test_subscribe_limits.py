"""The subscribe form against robots and floods: the honeypot, unusable addresses, and the
limits per IP and per address (in the database, and in Redis).
"""

from __future__ import annotations

import pytest
import redis
from fastapi.testclient import TestClient

from core.settings import get_settings
from publisher.web.app import create_app
from subscribers import throttle
from tests.conftest import REDIS_URL, use_settings
from tests.fixtures.mailroom import Mailroom, everything, subscription
from tests.fixtures.subscribing import Lists, post_form

# Robots and floods


def test_the_honeypot_answers_as_usual_and_does_nothing(
    client: TestClient, lists: Lists, mailroom: Mailroom
) -> None:
    trap = post_form(client, "forum", website="http://spam.example")
    honest = post_form(client, "forum", email="real@example.org")
    assert trap.status_code == honest.status_code == 200
    assert trap.text == honest.text
    assert subscription("anna@example.org", lists.forum) is None
    api = client.post("/api/subscribe/forum", json={"email": "bot@example.org", "website": "x"})
    assert api.status_code == 202 and subscription("bot@example.org", lists.forum) is None


def test_an_unusable_address_is_refused_with_a_reason(client: TestClient, lists: Lists) -> None:
    page = post_form(client, "forum", email="not an address")
    assert page.status_code == 400 and "does not look like an email" in page.text
    assert 'value="not an address"' in page.text
    api = client.post("/api/subscribe/forum", json={"email": "anna@"})
    assert api.status_code == 422
    assert everything() == []


def _limits(monkeypatch: pytest.MonkeyPatch, *, per_ip: int, per_address: int) -> None:
    monkeypatch.setattr(throttle, "PER_IP", throttle.Limit("test-ip", per_ip, 1.0))
    monkeypatch.setattr(throttle, "PER_ADDRESS", throttle.Limit("test-to", per_address, 1.0))


def _limited_per_ip_and_address(lists: Lists, monkeypatch: pytest.MonkeyPatch) -> None:
    _limits(monkeypatch, per_ip=4, per_address=2)
    app = create_app()
    one_ip = TestClient(app, client=("198.51.100.7", 5000))
    codes = [post_form(one_ip, "forum", email=f"p{i}@example.org").status_code for i in range(5)]
    assert codes == [200, 200, 200, 200, 429]
    refused = post_form(one_ip, "forum", email="p9@example.org")
    assert "Too many attempts" in refused.text and int(refused.headers["retry-after"]) >= 1
    assert subscription("p9@example.org", lists.forum) is None

    # One address from many IPs: the third attempt is refused, known address or not.
    answers = [
        TestClient(app, client=(f"192.0.2.{i}", 5000))
        .post("/api/subscribe/forum", json={"email": "target@example.org"})
        .status_code
        for i in range(3)
    ]
    assert answers == [202, 202, 429]


def test_limits_per_ip_and_per_address_in_the_database(
    lists: Lists, mailroom: Mailroom, monkeypatch: pytest.MonkeyPatch
) -> None:
    _limited_per_ip_and_address(lists, monkeypatch)


def test_limits_per_ip_and_per_address_in_redis(
    lists: Lists, mailroom: Mailroom, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = REDIS_URL.rsplit("/", 1)[0] + "/11"
    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    except redis.RedisError as error:
        from tests.conftest import service_unavailable

        service_unavailable("Redis", error)
    finally:
        client.close()
    use_settings(monkeypatch, redis_url=url, database_url=get_settings().database_url)
    _limited_per_ip_and_address(lists, monkeypatch)
    keys = redis.Redis.from_url(url).keys("herald:ratelimit:test-*")
    assert keys and not any(b"example.org" in key or b"192.0.2" in key for key in keys)
