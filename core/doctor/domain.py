"""The From domain's DNS checks of ``herald doctor``: SPF, DKIM and DMARC TXT records.

Gmail and Yahoo refuse or junk bulk mail from a domain without all three (their 2024 sender
rules), whatever the provider: the records are the first thing to check when mail vanishes.
On a development or test install a missing record is only a warning.
"""

from __future__ import annotations

from collections.abc import Callable

import dns.exception
import dns.resolver

from core.doctor.checks import Check, fail, fail_outside_production, ok, warn
from core.settings import Settings

TxtLookup = Callable[[str], list[str]]
"""The TXT strings published at a name (empty when there are none)."""


class DnsUnavailable(Exception):
    """No DNS server answered the question (as opposed to "no such record")."""


def resolver_for(settings: Settings) -> dns.resolver.Resolver:
    """The resolver ``HERALD_DOCTOR_NAMESERVER`` names (``host`` or ``host:port``), else the
    system's, waiting at most the doctor's timeout."""
    if settings.doctor_nameserver:
        host, _, port = settings.doctor_nameserver.rpartition(":")
        if not host or not port.isdigit():
            host, port = settings.doctor_nameserver, "53"
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = [host]
        resolver.port = int(port)
    else:
        resolver = dns.resolver.Resolver()
    resolver.lifetime = settings.doctor_timeout_seconds
    return resolver


def txt_lookup(resolver: dns.resolver.Resolver) -> TxtLookup:
    """A :data:`TxtLookup` through ``resolver``."""

    def lookup(name: str) -> list[str]:
        try:
            answer = resolver.resolve(name, "TXT", search=False)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return []
        except dns.exception.DNSException as error:
            raise DnsUnavailable(f"no answer for {name}: {error}") from error
        # A long record (a DKIM key) comes as several strings of up to 255 bytes: one value.
        return [b"".join(rdata.strings).decode("utf-8", "replace") for rdata in answer]

    return lookup


def dns_checks(settings: Settings, lookup: TxtLookup | None = None) -> list[Check]:
    """SPF, DKIM and DMARC for the From address's domain (DKIM's: ``HERALD_DKIM_DOMAIN``)."""
    if lookup is None:
        try:
            lookup = txt_lookup(resolver_for(settings))
        except dns.exception.DNSException as error:  # no resolver configured on this host
            return [fail_outside_production(settings, "dns", f"no resolver: {error}")]
    domain = settings.from_email.rpartition("@")[2].lower()
    return [
        _guarded(settings, "spf", lambda: spf(settings, domain, lookup)),
        _guarded(settings, "dkim", lambda: dkim(settings, domain, lookup)),
        _guarded(settings, "dmarc", lambda: dmarc(settings, domain, lookup)),
    ]


def spf(settings: Settings, domain: str, lookup: TxtLookup) -> Check:
    """Exactly one ``v=spf1`` record at the From domain, and not one letting anyone send."""
    records = [r for r in lookup(domain) if r.lower().startswith("v=spf1")]
    if not records:
        return fail_outside_production(settings, "spf", f"no SPF record (TXT v=spf1) at {domain}")
    if len(records) > 1:
        return fail("spf", f"{len(records)} SPF records at {domain}: receivers reject that")
    if records[0].split()[-1] in ("+all", "all"):
        return warn("spf", f"{domain}: {records[0]!r} lets every server send as the domain")
    return ok("spf", f"{domain}: {records[0]}")


def dkim(settings: Settings, domain: str, lookup: TxtLookup) -> Check:
    """A DKIM key at ``<HERALD_DKIM_SELECTOR>._domainkey.<domain>``."""
    if not settings.dkim_selector:
        return warn(
            "dkim", "HERALD_DKIM_SELECTOR is empty: the provider's DKIM record is unchecked"
        )
    name = f"{settings.dkim_selector}._domainkey.{settings.dkim_domain or domain}"
    keys = [r for r in lookup(name) if "p=" in r.replace(" ", "")]
    if not keys:
        return fail_outside_production(settings, "dkim", f"no DKIM key (TXT p=) at {name}")
    tags = dict(_tags(keys[0]))
    if not tags.get("p"):
        return fail("dkim", f"the DKIM key at {name} is revoked (empty p=)")
    return ok("dkim", f"{name}: key published (k={tags.get('k', 'rsa')})")


def dmarc(settings: Settings, domain: str, lookup: TxtLookup) -> Check:
    """A ``v=DMARC1`` policy at ``_dmarc.<domain>``; ``p=none`` only monitors."""
    name = f"_dmarc.{domain}"
    records = [r for r in lookup(name) if r.replace(" ", "").lower().startswith("v=dmarc1")]
    if not records:
        return fail_outside_production(settings, "dmarc", f"no DMARC record at {name}")
    policy = dict(_tags(records[0])).get("p", "").lower()
    if policy not in ("quarantine", "reject"):
        return warn("dmarc", f"{name}: p={policy or '(missing)'} only monitors; {records[0]}")
    return ok("dmarc", f"{name}: p={policy}")


def _tags(record: str) -> list[tuple[str, str]]:
    """``k=v; k=v`` tag lists (DKIM, DMARC) as pairs, names lower-cased."""
    pairs = (part.partition("=") for part in record.split(";") if "=" in part)
    return [(name.strip().lower(), value.strip().replace(" ", "")) for name, _, value in pairs]


def _guarded(settings: Settings, name: str, check: Callable[[], Check]) -> Check:
    try:
        return check()
    except DnsUnavailable as error:
        return fail_outside_production(settings, name, str(error))
