"""AWS Signature Version 4: signing requests to AWS APIs, and checking a signature (sandbox).

The steps follow AWS's "Create a signed AWS API request" page:

1. the *canonical request*: method, canonical URI, canonical query string, canonical headers,
   signed header names and the hex SHA-256 of the payload, one per line;
2. the *string to sign*: ``AWS4-HMAC-SHA256``, the request time, the credential scope
   (``YYYYMMDD/region/service/aws4_request``) and the hex SHA-256 of the canonical request;
3. the *signing key*: HMAC-SHA256 chained over ``"AWS4" + secret``, the date, the region, the
   service and ``aws4_request``; the signature is the hex HMAC of the string to sign under it;
4. the ``Authorization`` header: ``AWS4-HMAC-SHA256 Credential=<key id>/<scope>,
   SignedHeaders=<names>, Signature=<hex>``.

Each step is a function of its own so AWS's published test-suite vectors can check it alone.
The canonical URI normalises the path (dot segments, repeated slashes) and URI-encodes it *as
the request line carries it*, already percent-encoded by the client: the double encoding AWS's
signers use for every service but S3 (which is neither normalised nor double-encoded, and is
not signed here). The query string is decoded and re-encoded, so every signer agrees.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Generator, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, unquote

import httpx

ALGORITHM = "AWS4-HMAC-SHA256"
TERMINATOR = "aws4_request"
AMZ_DATE_FORMAT = "%Y%m%dT%H%M%SZ"
EMPTY_PAYLOAD_HASH = hashlib.sha256(b"").hexdigest()
MAX_CLOCK_SKEW = timedelta(minutes=5)

# RFC 3986 unreserved characters are the only ones AWS leaves unencoded.
_UNRESERVED = "-._~"
_SPACES = re.compile(r" +")
_AUTHORIZATION = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<key>[^/,\s]+)/(?P<date>\d{8})/(?P<region>[^/,\s]+)/"
    r"(?P<service>[^/,\s]+)/aws4_request,\s*SignedHeaders=(?P<signed>[a-z0-9;\-]+),\s*"
    r"Signature=(?P<signature>[0-9a-f]{64})"
)

Header = tuple[str, str]


@dataclass(frozen=True, slots=True)
class Credentials:
    """An access key pair, with the session token of temporary credentials if any."""

    access_key_id: str
    secret_access_key: str
    session_token: str = ""


@dataclass(frozen=True, slots=True)
class Scope:
    """The credential scope: the date, region and service a signature is good for."""

    date: str
    region: str
    service: str

    def __str__(self) -> str:
        return f"{self.date}/{self.region}/{self.service}/{TERMINATOR}"


@dataclass(frozen=True, slots=True)
class Signed:
    """Every intermediate value of one signature, and the ``Authorization`` header."""

    canonical_request: str
    string_to_sign: str
    signed_headers: str
    signature: str
    authorization: str


class SignatureRefused(Exception):
    """A request's signature does not check out; ``code`` is AWS's name for the reason."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def uri_encode(text: str) -> str:
    """Percent-encode every byte of ``text`` (UTF-8) but the RFC 3986 unreserved characters."""
    return quote(text, safe=_UNRESERVED)


def canonical_uri(path: str) -> str:
    """The path with dot segments and empty segments removed, each segment URI-encoded.

    ``path`` is the path as the request line carries it. An empty path is ``/``.
    """
    segments: list[str] = []
    for segment in path.split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if segments:
                segments.pop()
            continue
        segments.append(uri_encode(segment))
    trailing = "/" if path.endswith("/") and segments else ""
    return "/" + "/".join(segments) + trailing


def canonical_query(query: str) -> str:
    """The query parameters decoded, re-encoded, and sorted by name and then value."""
    pairs = []
    for parameter in query.split("&"):
        if not parameter:
            continue
        name, _, value = parameter.partition("=")
        pairs.append((uri_encode(unquote(name)), uri_encode(unquote(value))))
    return "&".join(f"{name}={value}" for name, value in sorted(pairs))


def canonical_headers(headers: Iterable[Header]) -> tuple[str, str]:
    """The canonical header lines and the signed header names for ``headers``.

    Names are lower-cased and sorted; values are trimmed with inner runs of spaces made one;
    a header given several times keeps its values in order, joined by commas.
    """
    values: dict[str, list[str]] = {}
    for name, value in headers:
        values.setdefault(name.strip().lower(), []).append(_SPACES.sub(" ", value.strip()))
    names = sorted(values)
    lines = "".join(f"{name}:{','.join(values[name])}\n" for name in names)
    return lines, ";".join(names)


def canonical_request(
    method: str, path: str, query: str, headers: Iterable[Header], payload_hash: str
) -> tuple[str, str]:
    """The canonical request (step 1) and its signed header names."""
    lines, signed = canonical_headers(headers)
    request = "\n".join(
        (method.upper(), canonical_uri(path), canonical_query(query), lines, signed, payload_hash)
    )
    return request, signed


def string_to_sign(amz_date: str, scope: Scope, request: str) -> str:
    """The string to sign (step 2) for a canonical request made at ``amz_date``."""
    digest = hashlib.sha256(request.encode()).hexdigest()
    return "\n".join((ALGORITHM, amz_date, str(scope), digest))


def signing_key(secret_access_key: str, scope: Scope) -> bytes:
    """The key derived from the secret for ``scope`` (step 3)."""
    key = _hmac(f"AWS4{secret_access_key}".encode(), scope.date)
    for part in (scope.region, scope.service, TERMINATOR):
        key = _hmac(key, part)
    return key


def signature(key: bytes, text: str) -> str:
    """The hex signature of the string to sign under the signing key."""
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


def authorization(access_key_id: str, scope: Scope, signed_headers: str, hex_signature: str) -> str:
    """The ``Authorization`` header value (step 4)."""
    return (
        f"{ALGORITHM} Credential={access_key_id}/{scope}, "
        f"SignedHeaders={signed_headers}, Signature={hex_signature}"
    )


def sign(
    *,
    method: str,
    path: str,
    query: str,
    headers: Sequence[Header],
    payload: bytes,
    credentials: Credentials,
    region: str,
    service: str,
    amz_date: str,
) -> Signed:
    """Sign a request whose ``headers`` (the ones to sign, ``host`` and ``x-amz-date`` among
    them) are given as they will be sent."""
    scope = Scope(amz_date[:8], region, service)
    payload_hash = hashlib.sha256(payload).hexdigest()
    request, signed = canonical_request(method, path, query, headers, payload_hash)
    text = string_to_sign(amz_date, scope, request)
    hex_signature = signature(signing_key(credentials.secret_access_key, scope), text)
    header = authorization(credentials.access_key_id, scope, signed, hex_signature)
    return Signed(request, text, signed, hex_signature, header)


def amz_date(moment: datetime) -> str:
    """``moment`` in the ``X-Amz-Date`` form, ``YYYYMMDD'T'HHMMSS'Z'`` in UTC."""
    return moment.astimezone(UTC).strftime(AMZ_DATE_FORMAT)


class SigV4Auth(httpx.Auth):
    """Signs every request of an httpx client for one AWS service and region.

    Signs ``host``, ``content-type`` and every ``x-amz-*`` header; adds ``X-Amz-Date`` (and
    ``X-Amz-Security-Token`` for temporary credentials) before signing.
    """

    requires_request_body = True

    def __init__(
        self,
        credentials: Credentials,
        region: str,
        service: str,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.credentials = credentials
        self.region = region
        self.service = service
        self._clock = clock or (lambda: datetime.now(UTC))

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Add the signature headers to ``request`` and send it."""
        request.headers["X-Amz-Date"] = amz_date(self._clock())
        if self.credentials.session_token:
            request.headers["X-Amz-Security-Token"] = self.credentials.session_token
        path, _, query = request.url.raw_path.decode("ascii").partition("?")
        signed = sign(
            method=request.method,
            path=path,
            query=query,
            headers=_headers_to_sign(request.headers.multi_items()),
            payload=request.content,
            credentials=self.credentials,
            region=self.region,
            service=self.service,
            amz_date=request.headers["X-Amz-Date"],
        )
        request.headers["Authorization"] = signed.authorization
        yield request


def check(
    *,
    method: str,
    path: str,
    query: str,
    headers: Sequence[Header],
    payload: bytes,
    secrets: Mapping[str, str],
    service: str,
    now: datetime,
) -> str:
    """Check a signed request the way AWS does; returns the access key id that signed it.

    ``secrets`` maps access key ids to their secret keys. Raises :class:`SignatureRefused`
    with AWS's error code when the signature is missing, malformed, stale or wrong.
    """
    found = _AUTHORIZATION.fullmatch(_header(headers, "authorization") or "")
    if found is None:
        raise SignatureRefused(
            "IncompleteSignatureException", "Authorization header requires AWS4-HMAC-SHA256."
        )
    secret = secrets.get(found["key"])
    if secret is None:
        raise SignatureRefused(
            "UnrecognizedClientException", "The security token included in the request is invalid."
        )
    stamp = _checked_date(headers, found["date"], found["service"], service, now)
    names = found["signed"].split(";")
    if "host" not in names:
        raise SignatureRefused("IncompleteSignatureException", "The host header must be signed.")
    signed = sign(
        method=method,
        path=path,
        query=query,
        headers=[(name, value) for name, value in headers if name.lower() in names],
        payload=payload,
        credentials=Credentials(found["key"], secret),
        region=found["region"],
        service=found["service"],
        amz_date=stamp,
    )
    if signed.signed_headers != found["signed"] or not hmac.compare_digest(
        signed.signature, found["signature"]
    ):
        raise SignatureRefused(
            "InvalidSignatureException",
            "The request signature we calculated does not match the signature you provided.",
        )
    return found["key"]


def _checked_date(
    headers: Sequence[Header], scope_date: str, scope_service: str, service: str, now: datetime
) -> str:
    stamp = _header(headers, "x-amz-date") or ""
    try:
        moment = datetime.strptime(stamp, AMZ_DATE_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        raise SignatureRefused(
            "IncompleteSignatureException", "X-Amz-Date must be YYYYMMDD'T'HHMMSS'Z'."
        ) from None
    if stamp[:8] != scope_date or scope_service != service:
        raise SignatureRefused(
            "InvalidSignatureException", "The credential scope does not match the request."
        )
    if abs(now - moment) > MAX_CLOCK_SKEW:
        raise SignatureRefused("InvalidSignatureException", "Signature expired or not yet current.")
    return stamp


def _headers_to_sign(headers: Iterable[Header]) -> list[Header]:
    return [
        (name, value)
        for name, value in headers
        if (lowered := name.lower()) in ("host", "content-type") or lowered.startswith("x-amz-")
    ]


def _header(headers: Sequence[Header], name: str) -> str | None:
    values = [value for key, value in headers if key.lower() == name]
    return ",".join(values) if values else None


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()
