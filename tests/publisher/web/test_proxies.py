"""Behind a reverse proxy: a trusted proxy's X-Forwarded-For is the client, nobody else's is.

Through the whole app, as the subscribe form records its consent: the address kept is the
one Herald believes (a consent record must name the subscriber's address, not the proxy's).
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from core.database import unit_of_work
from publisher.web.app import create_app
from subscribers.lists import create_list
from tests.conftest import use_settings
from tests.fixtures.mailroom import subscription
from tests.fixtures.subscribing import post_form

PROXY = ("10.1.2.3", 40000)
FORWARDED = {"X-Forwarded-For": "203.0.113.9, 10.1.2.4", "X-Forwarded-Proto": "https"}


def _alerts_list() -> int:
    with unit_of_work() as session:
        return create_list(session, slug="alerts", name="Alerts", opt_in="single").id


def _consent_ip(client: TestClient, list_id: int) -> str:
    answer = post_form(client, "alerts", email="anna@example.org")
    assert answer.status_code == 200
    recorded = subscription("anna@example.org", list_id)
    assert recorded is not None and recorded.requested_ip == recorded.consent_ip
    return recorded.consent_ip


def test_a_trusted_proxy_s_forwarded_address_is_the_consent_record_s(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_settings(monkeypatch, trusted_proxies="10.0.0.0/8")
    list_id = _alerts_list()
    client = TestClient(create_app(), client=PROXY, headers=FORWARDED)
    # The rightmost hop that is not a trusted proxy: 10.1.2.4 is one of ours.
    assert _consent_ip(client, list_id) == "203.0.113.9"


def test_an_untrusted_peer_s_forwarded_header_is_ignored(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_settings(monkeypatch, trusted_proxies="10.0.0.0/8")
    list_id = _alerts_list()
    client = TestClient(create_app(), client=("198.51.100.7", 40000), headers=FORWARDED)
    assert _consent_ip(client, list_id) == "198.51.100.7"


def test_without_trusted_proxies_even_a_local_peer_is_the_client(db: str) -> None:
    list_id = _alerts_list()
    client = TestClient(create_app(), client=("127.0.0.1", 40000), headers=FORWARDED)
    assert _consent_ip(client, list_id) == "127.0.0.1"


def test_trusted_proxies_must_be_addresses_or_networks(monkeypatch: pytest.MonkeyPatch) -> None:
    use_settings(monkeypatch, trusted_proxies="10.0.0.0/8, proxy.internal")
    with pytest.raises(ValueError, match=r"proxy\.internal"):
        create_app()
