"""Outgoing requests to addresses an admin typed: the public internet only, checked as connected.

A feed URL or a webhook endpoint names a host; checking its name and then letting the HTTP
client resolve it again leaves a gap (DNS rebinding: the first answer public, the second
127.0.0.1). :class:`GuardedTransport` closes it: it resolves the host once, refuses unless
every address is public, and connects to the first checked address itself, keeping the
``Host`` header and the TLS server name (SNI and the certificate check) on the original
name. Each redirect is a new request through the same transport, so it is checked again.

``HERALD_ALLOW_PRIVATE_ADDRESSES=true`` lets self-hosters reach their own network.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable

import httpx

from core.settings import get_settings

Resolver = Callable[[str, int], list[str]]
"""``(host, port)`` → the addresses the name resolves to, in the order to try them."""
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class AddressRefused(httpx.TransportError):
    """The request would reach a non-public address (or a host that does not resolve)."""


def system_resolver(host: str, port: int) -> list[str]:
    """The addresses the operating system resolves ``host`` to (numeric spellings too)."""
    try:
        found = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError) as error:
        raise AddressRefused(f"{host} does not resolve") from error
    return list(dict.fromkeys(str(address[0]) for *_, address in found))


def is_public(address: IPAddress) -> bool:
    """Whether ``address`` is on the public internet (IPv4-mapped IPv6 judged as IPv4)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def parse_web_url(url: str) -> httpx.URL:
    """``url`` as an absolute http(s) URL with a host, or ``ValueError`` saying why."""
    try:
        parsed = httpx.URL(url.strip())
    except (httpx.InvalidURL, TypeError) as error:
        raise ValueError(f"not a valid URL: {error}") from error
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ValueError("the URL must be an absolute http:// or https:// address")
    return parsed


def checked_address(host: str, port: int, resolve: Resolver, *, allow_private: bool) -> str:
    """The address to connect to for ``host``: resolved once, every answer checked."""
    try:
        literal: IPAddress | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    answers = [str(literal)] if literal is not None else resolve(host, port)
    if not answers:
        raise AddressRefused(f"{host} does not resolve")
    for answer in answers:
        address = ipaddress.ip_address(answer.split("%")[0])
        if not allow_private and not is_public(address):
            raise AddressRefused(f"{host} is not a public address ({address})")
    return answers[0]


class GuardedTransport(httpx.BaseTransport):
    """A transport that connects only to checked addresses, pinned per request.

    ``inner`` does the connecting (an ``httpx.HTTPTransport`` by default): it is handed
    the request with the checked address in the URL and the original name in ``Host``
    and in the ``sni_hostname`` extension.
    """

    def __init__(
        self,
        *,
        resolve: Resolver = system_resolver,
        allow_private: bool | None = None,
        inner: httpx.BaseTransport | None = None,
    ) -> None:
        self._resolve = resolve
        self._allow_private = (
            get_settings().allow_private_addresses if allow_private is None else allow_private
        )
        self._inner = inner or httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` to the checked address of its host, named as the host."""
        host = request.url.host
        port = request.url.port or (443 if request.url.scheme == "https" else 80)
        address = checked_address(host, port, self._resolve, allow_private=self._allow_private)
        pinned = httpx.Request(
            request.method,
            request.url.copy_with(host=address),
            headers=request.headers,  # Host was set from the original URL
            stream=request.stream,
            extensions={**request.extensions, "sni_hostname": host},
        )
        return self._inner.handle_request(pinned)

    def close(self) -> None:
        """Close the connections of the inner transport."""
        self._inner.close()


def guarded_client(
    *,
    timeout: float,
    follow_redirects: bool,
    resolve: Resolver = system_resolver,
    inner: httpx.BaseTransport | None = None,
) -> httpx.Client:
    """An HTTP client whose every request (redirects included) goes through the guard."""
    return httpx.Client(
        timeout=timeout,
        follow_redirects=follow_redirects,
        transport=GuardedTransport(resolve=resolve, inner=inner),
    )
