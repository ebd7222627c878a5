"""Hardening as an attacker would try it: redirects, Host header, framing, replayed cookies."""

from __future__ import annotations

import re

import pytest

from control_plane.security import safe_target
from tests.control_plane.conftest import PASSWORD, csrf_from

OFF_SITE = ["//evil.example/", "http:evil.example", "http://evil.example/x", "/\\evil.example", "\\\\evil.example",
            "https:/evil.example", "/%0d%0aX:1", "/ok\r\nX: 1", "javascript:alert(1)", " /x", "evil.example"]


@pytest.mark.parametrize("target", OFF_SITE)
def test_safe_target_refuses_anything_but_a_local_path(target):
    from urllib.parse import unquote

    assert safe_target(unquote(target)) is None


@pytest.mark.parametrize("target", ["/", "/strangler", "/admin/movies/?page=2&sort=1", "/kafka/movie-events?q=a%40b"])
def test_safe_target_keeps_local_paths(target):
    assert safe_target(target) == target


@pytest.mark.parametrize("target", ["//evil.example/", "http:evil.example", "/%0d%0aX:1", "/%5Cevil.example"])
def test_login_with_off_site_next_is_a_400_page(console, operators, target):
    token = csrf_from(console.get("/login").get_data(as_text=True))
    response = console.client.post(f"/login?next={target}", data={
        "username": operators["viewer"], "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert "must be a path on this console" in response.get_data(as_text=True)


def test_login_follows_a_local_next(console, operators):
    token = csrf_from(console.get("/login").get_data(as_text=True))
    response = console.client.post("/login?next=/audit%3Fdomain%3Dmovies", data={
        "username": operators["viewer"], "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302 and response.location == "/audit?domain=movies"


def test_anonymous_redirect_to_login_carries_a_relative_next_whatever_the_host(console):
    response = console.get("/strangler?x=1", headers={"Host": "evil.example"})
    assert response.status_code == 302
    assert response.location.startswith("/login?next=")
    assert "evil.example" not in response.location


@pytest.mark.parametrize("url", ["http:evil.example", "http://evil.example/", "//evil.example"])
def test_admin_url_parameter_cannot_leave_the_site(as_role, url):
    admin = as_role("admin")
    response = admin.get(f"/admin/movies/edit/?id=999999&url={url}", headers={"Host": "evil.example"})
    assert response.status_code == 400
    assert "evil.example" not in response.headers.get("Location", "")


def test_admin_missing_record_redirects_to_a_local_page(as_role):
    response = as_role("admin").get("/admin/movies/edit/?id=999999&url=/admin/movies/")
    assert response.status_code == 302 and response.location.startswith("/admin/movies/")


def test_trusted_hosts_refuse_a_foreign_host(db_url, operators):
    from control_plane import create_app
    from kernel.settings import load_settings

    app = create_app(load_settings(secret_key="hosts-test", console_trusted_hosts="console.internal, localhost"))
    client = app.test_client()
    assert client.get("/login", headers={"Host": "evil.example"}).status_code == 400
    assert client.get("/login", headers={"Host": "console.internal"}).status_code == 200


@pytest.mark.parametrize("path", ["/login", "/admin/movies/", "/strangler", "/kafka"])
def test_every_page_forbids_framing_and_sniffing(as_role, path):
    response = as_role("admin").get(path)
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp and "'unsafe-eval'" not in csp
    assert "script-src 'self' 'nonce-" in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_scripts_carry_the_response_nonce(as_role):
    response = as_role("admin").get("/admin/movies/")
    nonce = response.headers["Content-Security-Policy"].split("'nonce-")[1].split("'")[0]
    tags = re.findall(r"<script[^>]*>", response.get_data(as_text=True))
    assert tags and all(f'nonce="{nonce}"' in tag for tag in tags)


def test_cookie_replayed_after_logout_is_refused(as_role):
    viewer = as_role("viewer")
    cookie = viewer.client.get_cookie("session").value
    assert viewer.post("/logout").status_code == 302
    from tests.control_plane.conftest import Console

    replay = Console(viewer.client.application)
    replay.client.set_cookie("session", cookie)
    response = replay.get("/audit")
    assert response.status_code == 302 and response.location.startswith("/login")


def test_logout_ends_other_sessions_of_the_operator(as_role):
    first, second = as_role("editor"), as_role("editor")
    assert second.get("/audit").status_code == 200
    first.post("/logout")
    assert second.get("/audit").status_code == 302


def test_favicon_is_served(console):
    response = console.get("/favicon.ico")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"


def test_password_change_ends_the_operators_sessions(as_role, console_app):
    import uuid

    from control_plane import operators as service
    from tests.control_plane.conftest import Console

    name = f"pw-{uuid.uuid4().hex[:8]}"
    info = service.create_operator(name, "viewer", PASSWORD)
    client = Console(console_app)
    assert client.login(name).status_code == 302
    assert client.get("/audit").status_code == 200
    service.update_operator(info.id, {"password": PASSWORD + "-new"}, actor="tests")
    assert client.get("/audit").status_code == 302
    assert Console(console_app).login(name, PASSWORD + "-new").status_code == 302
