"""Request hardening of the console: redirect targets, trusted hosts, security headers.

* Redirect targets (``next=`` after login, Flask-Admin's ``url=``) must be same-site relative
  paths; anything else is refused with a 400 page before a view runs, so no view (ours or
  Flask-Admin's) ever redirects off-site, whatever the ``Host`` header says.
* ``CONSOLE_TRUSTED_HOSTS`` (optional) refuses requests for other hosts (Flask's ``TRUSTED_HOSTS``).
* Every response carries a Content-Security-Policy with a per-request script nonce,
  ``frame-ancestors 'none'`` (the console cannot be framed: no one-click rollback through a
  hidden iframe), ``nosniff`` and a strict referrer policy.
"""

from __future__ import annotations

import base64
import hashlib
import secrets

from flask import Flask, Response, abort, g, request

#: Query/form parameters that name a redirect target.
REDIRECT_PARAMS = ("next", "url")
# Flask-Admin's templates carry two inline event handlers (delete confirmation, filter links);
# they are allowed by hash so the policy needs no 'unsafe-inline' for scripts.
_ADMIN_HANDLERS = ("return faHelpers.safeConfirm('Are you sure you want to delete this record?');",
                   "return false;")


def _sha256(source: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(source.encode()).digest()).decode() + "'"


_HANDLER_HASHES = " ".join(_sha256(h) for h in _ADMIN_HANDLERS)


def safe_target(target: str | None) -> str | None:
    """``target`` if it is a same-site path (``/x``), else None.

    Refuses scheme-relative (``//host``), backslash tricks (``/\\host``), schemes without
    slashes (``http:evil.example``) and any control character (header injection).
    """
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return None
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F or ch == "\\" for ch in target):
        return None
    return target


def csp_nonce() -> str:
    """This request's script nonce (also handed to Flask-Admin's templates)."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return g.csp_nonce


def content_security_policy(nonce: str) -> str:
    """The policy for one response: own origin only, nonce'd scripts, no framing; images (movie posters) from
    any web address."""
    return ("default-src 'self'; "
            f"script-src 'self' 'nonce-{nonce}' 'unsafe-hashes' {_HANDLER_HASHES}; "
            "style-src 'self' 'unsafe-inline'; img-src 'self' data: https: http:; connect-src 'self'; "
            "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


def _refuse_unsafe_redirects() -> None:
    for name in REDIRECT_PARAMS:
        for value in request.values.getlist(name):
            if value and safe_target(value) is None:
                abort(400, f"{name} must be a path on this console")


def _headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = content_security_policy(csp_nonce())
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
    return response


def install(app: Flask, trusted_hosts: list[str]) -> None:
    """Wire the redirect check, trusted hosts and the headers into ``app``."""
    if trusted_hosts:
        app.config["TRUSTED_HOSTS"] = trusted_hosts
    app.before_request(_refuse_unsafe_redirects)
    app.after_request(_headers)
    app.jinja_env.globals["csp_nonce"] = csp_nonce
