"""The From domain's SPF, DKIM and DMARC checks, asked of a real DNS server on 127.0.0.1."""

from __future__ import annotations

import pytest

from core.doctor.checks import Level
from core.doctor.domain import dns_checks, resolver_for
from core.settings import Settings
from tests.fixtures.dns_server import DnsServer

SPF = "v=spf1 include:spf.mtasv.net ~all"
# Longer than one TXT string (255 bytes), as real 2048-bit keys are.
KEY = "v=DKIM1; k=rsa; p=" + "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA" * 8
DMARC = "v=DMARC1; p=quarantine; rua=mailto:dmarc@herald.test"


def _settings(server: DnsServer, **values: str) -> Settings:
    fields = {
        "from_email": "news@herald.test",
        "dkim_selector": "pm",
        "doctor_nameserver": server.address,
        "doctor_timeout_seconds": "2",
        **values,
    }
    return Settings(**fields)  # type: ignore[arg-type]


def _publish_all(server: DnsServer) -> None:
    server.publish("herald.test", "google-site-verification=abc", SPF)
    server.publish("pm._domainkey.herald.test", KEY)
    server.publish("_dmarc.herald.test", DMARC)


def _levels(settings: Settings) -> dict[str, tuple[Level, str]]:
    return {check.name: (check.level, check.reason) for check in dns_checks(settings)}


def test_all_three_records_published_are_ok(dns_server: DnsServer) -> None:
    _publish_all(dns_server)
    checks = _levels(_settings(dns_server))
    assert {name: level for name, (level, _) in checks.items()} == {
        "spf": Level.OK,
        "dkim": Level.OK,
        "dmarc": Level.OK,
    }
    assert SPF in checks["spf"][1]
    assert "pm._domainkey.herald.test: key published (k=rsa)" in checks["dkim"][1]
    assert "p=quarantine" in checks["dmarc"][1]
    assert {"herald.test", "pm._domainkey.herald.test", "_dmarc.herald.test"} <= set(
        dns_server.questions
    )


def test_missing_records_fail_in_production_and_only_warn_elsewhere(
    dns_server: DnsServer,
) -> None:
    production = _settings(dns_server, env="production", secret_key="k" * 40)
    failing = _levels(production)
    assert {level for level, _ in failing.values()} == {Level.FAIL}
    assert failing["spf"][1] == "no SPF record (TXT v=spf1) at herald.test"
    assert failing["dkim"][1] == "no DKIM key (TXT p=) at pm._domainkey.herald.test"
    assert failing["dmarc"][1] == "no DMARC record at _dmarc.herald.test"
    assert {level for level, _ in _levels(_settings(dns_server)).values()} == {Level.WARN}


@pytest.mark.parametrize(
    ("name", "values", "check", "level", "reason"),
    [
        ("herald.test", [SPF, "v=spf1 -all"], "spf", Level.FAIL, "2 SPF records"),
        ("herald.test", ["v=spf1 +all"], "spf", Level.WARN, "lets every server send"),
        ("pm._domainkey.herald.test", ["v=DKIM1; p="], "dkim", Level.FAIL, "revoked"),
        ("_dmarc.herald.test", ["v=DMARC1; p=none"], "dmarc", Level.WARN, "p=none only monitors"),
    ],
)
def test_a_record_that_is_there_but_wrong_is_named(
    dns_server: DnsServer, name: str, values: list[str], check: str, level: Level, reason: str
) -> None:
    _publish_all(dns_server)
    dns_server.publish(name, *values)
    found_level, found_reason = _levels(_settings(dns_server))[check]
    assert found_level == level and reason in found_reason


def test_the_dkim_domain_and_selector_come_from_the_settings(dns_server: DnsServer) -> None:
    dns_server.publish("s1._domainkey.mail.herald.test", KEY)
    settings = _settings(dns_server, dkim_selector="s1", dkim_domain="mail.herald.test")
    assert _levels(settings)["dkim"][0] == Level.OK
    unset = _levels(_settings(dns_server, dkim_selector=""))["dkim"]
    assert unset == (
        Level.WARN,
        "HERALD_DKIM_SELECTOR is empty: the provider's DKIM record is unchecked",
    )


def test_a_dns_server_that_does_not_answer_is_reported_not_raised(dns_server: DnsServer) -> None:
    port = dns_server.port
    dns_server.stop()  # nothing answers on its port any more
    settings = _settings(
        dns_server,
        env="production",
        secret_key="k" * 40,
        doctor_nameserver=f"127.0.0.1:{port}",
        doctor_timeout_seconds="0.5",  # each of the three checks waits this long for nothing
    )
    checks = dns_checks(settings)
    assert [check.level for check in checks] == [Level.FAIL] * 3
    assert all("no answer for" in check.reason for check in checks)


def test_the_nameserver_setting_takes_a_host_with_or_without_a_port() -> None:
    with_port = resolver_for(Settings(doctor_nameserver="127.0.0.1:5353"))
    assert (with_port.nameservers, with_port.port) == (["127.0.0.1"], 5353)
    plain = resolver_for(Settings(doctor_nameserver="10.0.0.53"))
    assert (plain.nameservers, plain.port) == (["10.0.0.53"], 53)
