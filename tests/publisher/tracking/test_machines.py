"""Telling machines (image proxies, scanners, prefetches) from people opening and clicking."""

from __future__ import annotations

from datetime import timedelta

import pytest

from publisher.tracking.machines import Hit, Kind, machine_reason
from tests.fixtures.tracking import AT, BROWSER, SENT


@pytest.mark.parametrize(
    ("hit", "kind", "reason"),
    [
        (Hit(AT, user_agent=BROWSER), "click", None),
        (Hit(AT, user_agent="Mozilla/5.0 (compatible; GoogleImageProxy)"), "open", None),
        (Hit(AT, user_agent="Mozilla/5.0 (compatible; GoogleImageProxy)"), "click", "image proxy"),
        (Hit(AT, method="HEAD", user_agent=BROWSER), "click", "HEAD request"),
        (Hit(AT, user_agent=BROWSER, purpose="prefetch;anonymous-client-ip"), "open", "prefetch"),
        (Hit(AT, user_agent=""), "open", "no user agent"),
        (Hit(AT, user_agent="Mozilla/5.0"), "open", "Apple Mail Privacy Protection"),
        (Hit(AT, user_agent="Mozilla/5.0 (compatible; BingPreview/1.0b)"), "click", "scanner"),
        (Hit(AT, user_agent="Proofpoint URL Defense"), "click", "scanner"),
        (Hit(AT, user_agent="Barracuda Sentinel (EE)"), "click", "scanner"),
        (Hit(AT, user_agent="python-requests/2.32"), "click", "scanner"),
        (
            Hit(AT, user_agent=f"{BROWSER} Chrome/42.0.2311.135 Safari/537.36 Edge/12.246"),
            "open",
            "Gmail arrival fetch",
        ),
        (Hit(SENT + timedelta(seconds=1), user_agent=BROWSER), "open", "at sending time"),
    ],
)
def test_machines_are_told_from_people(hit: Hit, kind: Kind, reason: str | None) -> None:
    found = machine_reason(hit, kind, sent_at=SENT)
    assert (found or "").startswith(reason or "") and (found is None) == (reason is None)


def test_only_clicks_on_other_links_in_quick_succession_are_a_burst() -> None:
    hit = Hit(AT, user_agent=BROWSER)
    just_before = AT - timedelta(seconds=1)
    assert machine_reason(hit, "click", sent_at=SENT, other_click_at=just_before)
    assert (
        machine_reason(hit, "click", sent_at=SENT, other_click_at=AT - timedelta(seconds=5)) is None
    )
