"""One ASGI middleware for the studio's safety rules.

- token: when the studio is reachable from other machines, every request must carry the token
  (header `Authorization: Bearer T` or `X-Artistry-Token: T`, or the cookie set by one visit to
  any page with `?token=T`);
- host: on loopback, requests must name a loopback host (stops DNS-rebinding pages);
- origin: a request that changes something must come from the studio's own pages;
- size: request bodies over MAX_BODY bytes are refused with 413;
- headers: a strict Content-Security-Policy (everything from 'self'; no CDN, no inline script).
"""

from __future__ import annotations

import hmac
from http.cookies import SimpleCookie
from urllib.parse import parse_qsl, urlencode, urlsplit

MAX_BODY = 64 * 1024
COOKIE = "artistry_token"
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}
CSP = (
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


def _host_of(value: str) -> str:
    value = value.strip().lower()
    if value.startswith("["):
        return value.split("]")[0] + "]"
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


class Guard:
    def __init__(self, app, token: str | None = None, loopback: bool = True):
        self.app, self.token, self.loopback = app, token, loopback

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        host = headers.get("host", "")
        if self.loopback and _host_of(host) not in LOOPBACK_HOSTS:
            return await _plain(send, 403, "studio: unexpected Host header")
        if scope["method"] not in ("GET", "HEAD"):
            origin = headers.get("origin")
            if origin and urlsplit(origin).netloc.lower() != host.lower():
                return await _plain(send, 403, "studio: request from another site")
        if self.token:
            query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
            given = query.get("token")
            if given is not None and hmac.compare_digest(given.encode(), self.token.encode()):
                rest = urlencode(
                    [(k, v) for k, v in parse_qsl(scope["query_string"].decode("latin-1")) if k != "token"]
                )
                location = scope["path"] + (f"?{rest}" if rest else "")
                return await _redirect_with_cookie(send, location, self.token)
            if not self._authorised(headers):
                return await _plain(send, 401, "studio: a token is needed (open the link with ?token=...)")
        length = headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY):
            return await _plain(send, 413, f"studio: request body over {MAX_BODY} bytes")
        await self.app(scope, _limited(receive), _with_headers(send))

    def _authorised(self, headers: dict) -> bool:
        candidates = [headers.get("x-artistry-token", "")]
        auth = headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            candidates.append(auth[7:])
        cookie = SimpleCookie()
        try:
            cookie.load(headers.get("cookie", ""))
        except Exception:
            pass
        if COOKIE in cookie:
            candidates.append(cookie[COOKIE].value)
        return any(c and hmac.compare_digest(c.encode(), self.token.encode()) for c in candidates)


class BodyTooLarge(Exception):
    pass


def _limited(receive):
    seen = 0

    async def inner():
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > MAX_BODY:  # a chunked body without Content-Length
                raise BodyTooLarge()
        return message

    return inner


def _with_headers(send):
    async def inner(message):
        if message["type"] == "http.response.start":
            extra = [
                (b"content-security-policy", CSP.encode()),
                (b"x-content-type-options", b"nosniff"),
                (b"referrer-policy", b"no-referrer"),
                (b"x-frame-options", b"DENY"),
            ]
            message = {**message, "headers": list(message.get("headers", [])) + extra}
        await send(message)

    return inner


async def _plain(send, status: int, text: str) -> None:
    body = text.encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _redirect_with_cookie(send, location: str, token: str) -> None:
    cookie = f"{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict"
    await send(
        {
            "type": "http.response.start",
            "status": 303,
            "headers": [
                (b"location", location.encode("latin-1")),
                (b"set-cookie", cookie.encode("latin-1")),
                (b"content-length", b"0"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": b""})
