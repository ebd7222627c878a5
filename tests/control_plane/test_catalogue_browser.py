"""The movie form in headless Chromium: release date, running time and poster, genre suggestions."""

from __future__ import annotations

import uuid

from domain_services.movies import services as movies
from tests.control_plane.test_browser import browser, clean, console_url, login, shot  # noqa: F401 (fixtures)


def test_movie_form_details_poster_and_genre_suggestions(login, console_url):  # noqa: F811 (fixtures)
    genre = f"Neo-noir {uuid.uuid4().hex[:4]}"
    movies.create_movie({"title": "Genre seed", "description": "", "rating": 5, "genres": [genre]})
    movie = movies.create_movie({"title": f"Poster {uuid.uuid4().hex[:6]}", "description": "A film", "rating": 7,
                                 "genres": ["Drama"], "poster_url": f"{console_url}/static/favicon.svg"})
    page = login("editor")
    page.goto(f"{console_url}/admin/movies/edit/?id={movie['id']}")
    poster = page.get_by_test_id("poster-preview").locator("img")
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=poster.element_handle())

    page.locator("#genre-add").fill(genre)  # the suggestion list offers it; picking or Enter adds it
    assert page.evaluate(f"[...document.querySelectorAll('#genre-suggestions option')].some(o => o.value === "
                         f"{genre!r})")
    page.locator("#genre-add").press("Enter")
    assert page.locator("#genres_text").input_value() == f"Drama, {genre}"
    page.locator("#release_date").fill("1999-03-31")
    page.locator("#duration_minutes").fill("136")
    shot(page, "20-movie-form")
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_url(f"{console_url}/admin/movies/**")
    saved = movies.get_movie(movie["id"])
    assert (saved["release_date"], saved["duration_minutes"], sorted(saved["genres"])) == (
        "1999-03-31", 136, sorted(["Drama", genre]))
    page.goto(f"{console_url}/admin/movies/?search={movie['title']}")
    assert page.locator("td.col-release_date").first.inner_text().strip() == "1999-03-31"
    clean(page)
