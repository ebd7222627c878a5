"""Static files: fingerprinted URLs cached for a year; a changed file gets a new URL."""

from __future__ import annotations

import re


def test_static_urls_carry_a_content_hash_and_are_cached_for_a_year(as_role):
    viewer = as_role("viewer")
    html = viewer.get("/").get_data(as_text=True)
    url = re.search(r'src="(/static/console\.js\?v=[0-9a-f]{12})"', html)
    assert url, "console.js without a fingerprint"
    response = viewer.get(url.group(1))
    assert response.status_code == 200
    assert response.cache_control.max_age == 365 * 24 * 3600 and response.cache_control.immutable


def test_a_bare_static_url_is_revalidated(as_role):
    response = as_role("viewer").get("/static/console.js")
    assert response.status_code == 200 and not response.cache_control.immutable


def test_the_fingerprint_follows_the_content(tmp_path):
    from control_plane.assets import fingerprint

    (tmp_path / "a.js").write_text("one")
    first = fingerprint(str(tmp_path), "a.js")
    (tmp_path / "a.js").write_text("two!")
    assert fingerprint(str(tmp_path), "a.js") != first
    assert fingerprint(str(tmp_path), "../etc/passwd") is None


def test_text_files_go_out_gzipped_to_browsers_that_accept_it(as_role):
    import gzip
    from pathlib import Path

    viewer = as_role("viewer")
    plain = viewer.get("/static/console.css").get_data()
    packed = viewer.get("/static/console.css", headers={"Accept-Encoding": "gzip, br"})
    assert packed.headers["Content-Encoding"] == "gzip" and "Accept-Encoding" in packed.headers["Vary"]
    assert gzip.decompress(packed.get_data()) == plain == Path("static/console.css").read_bytes()
    assert len(packed.get_data()) < len(plain) / 2
    again = viewer.get("/static/console.css",
                       headers={"Accept-Encoding": "gzip", "If-None-Match": packed.headers["ETag"]})
    assert again.status_code == 304


def test_flask_admin_files_are_compressed_and_cached(as_role):
    import re

    editor = as_role("editor")
    html = editor.get("/admin/movies/").get_data(as_text=True)
    url = re.search(r'src="(/admin/static/[^"]+\.js\?v=[^"]+)"', html).group(1)
    response = editor.get(url, headers={"Accept-Encoding": "gzip"})
    assert response.headers["Content-Encoding"] == "gzip" and response.cache_control.max_age == 365 * 24 * 3600
