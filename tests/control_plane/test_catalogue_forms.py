"""A catalogue that never lies: errors on the field, dates typed either way, allowed transitions only,
foreign keys linked, no edit field the domain ignores, audit rows with before and after."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from domain_services.payments import services as payments
from domain_services.payments import subscriptions
from domain_services.users import services as users
from kernel.db import read_session
from kernel.models import FlagAudit


def _user() -> dict:
    tag = uuid.uuid4().hex[:8]
    return users.create_user({"username": f"cat-{tag}", "email": f"cat-{tag}@example.com", "password": "pw-123456789"})


class _Audit:
    def __init__(self, row: FlagAudit) -> None:
        self.actor, self.before, self.after = row.actor, row.before, row.after


def _latest_audit(action: str) -> _Audit | None:
    with read_session() as session:
        row = session.scalars(select(FlagAudit).where(FlagAudit.action == action)
                              .order_by(FlagAudit.id.desc())).first()
        return _Audit(row) if row is not None else None


def test_refused_change_is_reported_under_the_field(as_role):
    html = as_role("editor").post("/admin/movies/new/", {"title": "x", "description": "", "rating": "11",
                                                          "genres_text": ""}).get_data(as_text=True)
    rating = html[html.index('id="rating"'):]
    assert "rating must be at most 10" in rating[:1500]  # in the rating field's block, not only a flash


def test_movie_edit_audit_holds_before_and_after(as_role, operators):
    from domain_services.movies.services import create_movie

    movie = create_movie({"title": f"Audit {uuid.uuid4().hex[:6]}", "description": "a", "rating": 5})
    as_role("editor").post(f"/admin/movies/edit/?id={movie['id']}", {"title": movie["title"], "description": "b",
                                                                     "rating": "6", "genres_text": "Drama"})
    row = _latest_audit("catalogue.movie.updated")
    assert row.actor == operators["editor"]
    assert row.before["rating"] == 5 and row.after["rating"] == 6
    assert row.before["genres"] == [] and row.after["genres"] == ["Drama"]
    assert row.before["description"] == "a" and row.after["description"] == "b"


def test_payment_create_form_has_no_status_and_edit_offers_allowed_moves_only(as_role):
    admin = as_role("admin")
    assert 'name="status"' not in admin.get("/admin/payments/new/").get_data(as_text=True)
    user = _user()
    payment = payments.create_payment({"user_id": user["id"], "amount": 9.99})
    html = admin.get(f"/admin/payments/edit/?id={payment['id']}").get_data(as_text=True)
    offered = re.findall(r'<option[^>]*value="([a-z]+)"', html[html.index('name="status"'):][:2000])
    assert sorted(offered) == sorted(["pending", *payments.TRANSITIONS["pending"]])  # pending = no change


def test_payment_status_change_through_the_form(as_role):
    user = _user()
    payment = payments.create_payment({"user_id": user["id"], "amount": 5})
    response = as_role("admin").post(f"/admin/payments/edit/?id={payment['id']}", {"status": "failed"})
    assert response.status_code == 302
    row = _latest_audit("catalogue.payment.updated")
    assert row.before["status"] == "pending" and row.after["status"] == "failed"
    html = as_role("admin").get(f"/admin/payments/edit/?id={payment['id']}").get_data(as_text=True)
    assert "failed is final" in html


def test_foreign_keys_link_to_the_user(as_role):
    user = _user()
    payments.create_payment({"user_id": user["id"], "amount": 1})
    html = as_role("admin").get(f"/admin/payments/?flt0_0={user['id']}").get_data(as_text=True)
    assert f'href="/admin/users/details/?id={user["id"]}"' in html
    assert f'{user["username"]} (#{user["id"]})</a>' in html  # by name, not "user 109"


def test_subscription_edit_does_not_offer_the_user(as_role):
    user = _user()
    sub = subscriptions.create_subscription({"user_id": user["id"], "plan_type": "basic",
                                             "start_date": "2026-01-01", "end_date": "2026-02-01"})
    html = as_role("admin").get(f"/admin/subscriptions/edit/?id={sub['id']}").get_data(as_text=True)
    assert 'name="user_id"' not in html and 'name="plan_type"' in html


def test_subscription_dates_typed_or_picked_are_kept(as_role):
    user = _user()
    admin = as_role("admin")
    for start, end, expect_start, expect_end in [
        ("2026-12-25", "2027-01-25", "2026-12-25T00:00:00", "2027-01-25T00:00:00"),  # typed dates
        ("2026-12-25T08:30", "2027-01-25T08:30", "2026-12-25T08:30:00", "2027-01-25T08:30:00"),  # picker value
    ]:
        response = admin.post("/admin/subscriptions/new/", {"user_id": str(user["id"]), "plan_type": "premium",
                                                            "start_date": start, "end_date": end})
        assert response.status_code == 302, response.get_data(as_text=True)[:800]
        row = _latest_audit("catalogue.subscription.created")
        assert row.after["start_date"].startswith(expect_start) and row.after["end_date"].startswith(expect_end)
    html = admin.get(f"/admin/subscriptions/edit/?id={row.after['id']}").get_data(as_text=True)
    assert 'type="datetime-local"' in html and 'value="2026-12-25T08:30"' in html


def test_subscription_date_edit_is_saved(as_role):
    user = _user()
    sub = subscriptions.create_subscription({"user_id": user["id"], "plan_type": "basic",
                                             "start_date": "2026-01-01", "end_date": "2026-02-01"})
    response = as_role("admin").post(f"/admin/subscriptions/edit/?id={sub['id']}", {
        "plan_type": "premium", "start_date": "2026-01-01", "end_date": "2026-06-30"})
    assert response.status_code == 302
    row = _latest_audit("catalogue.subscription.updated")
    assert row.before["end_date"].startswith("2026-02-01") and row.after["end_date"].startswith("2026-06-30")
    assert row.before["plan_type"] == "basic" and row.after["plan_type"] == "premium"


def test_audit_masks_personal_data_by_field_name(as_role):
    tag = uuid.uuid4().hex[:8]
    as_role("admin").post("/admin/users/new/", {"username": f"masked-{tag}", "email": f"secret-{tag}@example.com"})
    row = _latest_audit("catalogue.user.created")
    assert row is not None and f"secret-{tag}" not in str(row.after)


def test_audit_page_shows_a_change_as_a_diff(as_role):
    from domain_services.movies.services import create_movie

    movie = create_movie({"title": f"Diff {uuid.uuid4().hex[:6]}", "description": "a", "rating": 4})
    admin = as_role("admin")
    admin.post(f"/admin/movies/edit/?id={movie['id']}", {"title": movie["title"], "description": "a",
                                                         "rating": "9", "genres_text": ""})
    html = admin.get("/audit?action=catalogue.movie.updated").get_data(as_text=True)
    assert "<code>rating</code> <del>4.0</del> → <ins>9.0</ins>" in html or \
        "<code>rating</code> <del>4</del> → <ins>9</ins>" in html


def test_user_role_and_disabled_are_edited_through_the_domain(as_role):
    user = _user()
    admin = as_role("admin")
    assert 'name="role"' not in admin.get("/admin/users/new/").get_data(as_text=True)
    response = admin.post(f"/admin/users/edit/?id={user['id']}", {"username": user["username"],
                                                                  "email": user["email"], "role": "editor",
                                                                  "disabled": "y"})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    row = _latest_audit("catalogue.user.updated")
    assert row.before["role"] == "user" and row.after["role"] == "editor"
    assert row.before["disabled"] is False and row.after["disabled"] is True


def test_audit_hides_sign_ins_unless_asked_and_matches_part_of_a_name(as_role):
    admin = as_role("admin")  # signing in wrote an operator.login row

    def rows(path: str) -> str:
        return admin.get(path).get_data(as_text=True).split("</thead>")[-1]

    assert ">operator.login<" not in rows("/audit")
    assert ">operator.login<" in rows("/audit?kind=logins")
    assert admin.get("/audit?kind=bogus").status_code == 400
    html = rows("/audit?kind=all&actor=ADMI")  # any part, any case
    assert "test-admin" in html and "test-viewer" not in html


def test_catalogue_audit_rows_carry_their_domain_and_link_to_the_record(as_role):
    from domain_services.movies.services import create_movie

    movie = create_movie({"title": f"Linked {uuid.uuid4().hex[:6]}", "description": "a", "rating": 4})
    editor = as_role("editor")
    editor.post(f"/admin/movies/edit/?id={movie['id']}", {"title": movie["title"], "description": "b",
                                                           "rating": "4", "genres_text": ""})
    html = editor.get("/audit?domain=movies&action=catalogue.movie.updated").get_data(as_text=True)
    assert f'href="/admin/movies/details/?id={movie["id"]}"' in html
    assert '<td data-label="Domain">movies</td>' in html


def test_audit_shows_a_send_back_without_fields_turned_null(as_role):
    from control_plane import audit_log

    audit_log.record("test-ops", "kafka.dead_letter_republished",
                     before={"topic": "payment-events.dlq", "partition": 0, "offset": 3, "group": "g"},
                     after={"topic": "payment-events", "partition": 1, "offset": 9})
    html = as_role("admin").get("/audit?action=kafka.dead_letter_republished").get_data(as_text=True)
    assert "→ <ins>null</ins>" not in html and "(before only)" in html


def test_time_filters_read_utc(as_role, monkeypatch):
    import time

    from control_plane import audit_log

    monkeypatch.setenv("TZ", "America/New_York")  # a server west of UTC: local reading would shift by hours
    time.tzset()
    monkeypatch.undo = _restore_tz(monkeypatch.undo)

    probe = f"tests.utc-{uuid.uuid4().hex[:8]}"
    audit_log.record("test-ops", probe, after={"n": 1})
    admin = as_role("admin")
    now = datetime.now(UTC)
    since = (now - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M")
    until = (now - timedelta(minutes=2)).strftime("%Y-%m-%dT%H:%M")
    def rows(path: str) -> str:
        return admin.get(path).get_data(as_text=True).split("</thead>")[-1]

    assert probe in rows(f"/audit?action={probe}&since={since}")
    assert "No audit rows match" in rows(f"/audit?action={probe}&until={until}")


def _restore_tz(undo):
    def restore():
        import time

        undo()
        time.tzset()

    return restore


def test_subscription_details_name_the_user(as_role):
    user = _user()
    sub = subscriptions.create_subscription({"user_id": user["id"], "plan_type": "basic",
                                             "start_date": "2026-01-01", "end_date": "2026-02-01"})
    html = as_role("admin").get(f"/admin/subscriptions/details/?id={sub['id']}").get_data(as_text=True)
    assert f'{user["username"]} (#{user["id"]})' in html


def test_the_user_is_found_by_username_or_e_mail(as_role):
    user = _user()
    admin = as_role("admin")
    response = admin.post("/admin/payments/new/", {"user_id": user["username"].upper(), "amount": "4.50",
                                                   "payment_method": "", "plan_type": ""})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    assert _latest_audit("catalogue.payment.created").after["user_id"] == user["id"]
    response = admin.post("/admin/subscriptions/new/", {"user_id": user["email"], "plan_type": "basic",
                                                        "start_date": "2026-01-01", "end_date": "2026-02-01"})
    assert response.status_code == 302
    assert _latest_audit("catalogue.subscription.created").after["user_id"] == user["id"]
    html = admin.post("/admin/payments/new/", {"user_id": "nobody-at-all", "amount": "1"}).get_data(as_text=True)
    block = html[html.index('id="user_id"'):][:1500]
    assert "does not exist" in block


def test_lists_show_a_count_and_page_numbers(as_role):
    from domain_services.movies.services import create_movie

    html = as_role("editor").get("/admin/movies/").get_data(as_text=True)
    count = int(re.search(r"List \(([\d,]+) results?\)", html).group(1).replace(",", ""))
    for i in range(max(0, 51 - count)):
        create_movie({"title": f"Paged {i} {uuid.uuid4().hex[:6]}", "description": "", "rating": 1})
    html = as_role("editor").get("/admin/movies/").get_data(as_text=True)
    assert 'class="pagination' in html and ">2</a>" in html  # page numbers, not just "next"


def test_csv_export_keeps_the_filters_defuses_formulas_and_is_audited(as_role):
    from domain_services.movies.services import create_movie

    tag = uuid.uuid4().hex[:6]
    create_movie({"title": f"=HYPERLINK(x) {tag}", "description": "d", "rating": 5})
    response = as_role("editor").get(f"/admin/movies/export/csv/?search={tag}")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    body = response.get_data(as_text=True)
    assert body.count("\n") == 2 and f"'=HYPERLINK(x) {tag}" in body
    row = _latest_audit("catalogue.movie.exported")
    assert row.actor == "test-editor" and tag in row.after["query"]


def test_csv_export_masks_personal_data_without_the_permission(as_role, monkeypatch):
    from control_plane import roles

    user = _user()
    admin = as_role("admin")
    assert user["email"] in admin.get(f"/admin/users/export/csv/?search={user['username']}").get_data(as_text=True)
    monkeypatch.setitem(roles.PERMISSIONS, "kafka.unmasked", frozenset())
    masked = admin.get(f"/admin/users/export/csv/?search={user['username']}").get_data(as_text=True)
    assert user["username"] in masked and user["email"] not in masked and "***@example.com" in masked


def test_csv_export_has_an_off_switch(db_url, operators):
    from control_plane import create_app
    from kernel.settings import load_settings
    from tests.control_plane.conftest import Console

    app = create_app(load_settings(secret_key="test-secret-key", console_csv_export=False))
    client = Console(app)
    assert client.login(operators["editor"]).status_code == 302
    assert client.get("/admin/movies/export/csv/").status_code == 404
    assert "export/csv" not in client.get("/admin/movies/").get_data(as_text=True)


def test_a_record_has_its_history_from_the_audit_log(as_role):
    from domain_services.movies.services import create_movie

    movie = create_movie({"title": f"History {uuid.uuid4().hex[:6]}", "description": "a", "rating": 3})
    other = create_movie({"title": f"Other {uuid.uuid4().hex[:6]}", "description": "a", "rating": 3})
    editor = as_role("editor")
    for target, rating in ((movie, "4"), (other, "5"), (movie, "6")):
        editor.post(f"/admin/movies/edit/?id={target['id']}", {"title": target["title"], "description": "a",
                                                               "rating": rating, "genres_text": ""})
    details = editor.get(f"/admin/movies/details/?id={movie['id']}").get_data(as_text=True)
    link = details.split('data-testid="record-history"')[0].rsplit('href="', 1)[1].split('"')[0].replace("&amp;", "&")
    rows = editor.get(link).get_data(as_text=True).split("</thead>")[-1]
    assert rows.count("catalogue.movie.updated") == 2 and other["title"] not in rows


def _movie_view(app):
    admin = app.extensions["admin"]
    admin = admin[0] if isinstance(admin, list) else admin
    return next(v for v in admin._views if getattr(v, "entity", "") == "movie")


def test_a_filtered_list_counts_up_to_the_cap_then_pages_on(as_role, console_app, monkeypatch):
    from domain_services.movies.services import create_movie

    view = _movie_view(console_app)
    monkeypatch.setattr(view, "count_cap", 5)
    monkeypatch.setattr(view, "page_size", 2)
    genre, few = f"Capped{uuid.uuid4().hex[:8]}", f"Few{uuid.uuid4().hex[:8]}"
    for i in range(8):
        create_movie({"title": f"Capped {i}", "description": "", "rating": 1, "genres": [genre]})
    for i in range(3):
        create_movie({"title": f"Few {i}", "description": "", "rating": 1, "genres": [few]})
    arg = view.filter_arg("movie_genres.genre", "equals")
    editor = as_role("editor")

    html = editor.get(f"/admin/movies/?{arg}={genre}").get_data(as_text=True)
    assert "List (5+ results)" in html and 'data-testid="result-count">5+ results' in html
    assert ">3</a>" in html and ">4</a>" not in html  # numbered up to the cap (3 pages of 2)
    beyond = re.search(r'href="([^"]+)" data-testid="pages-beyond"', html).group(1).replace("&amp;", "&")
    assert "page=3" in beyond
    past = editor.get(beyond).get_data(as_text=True)
    assert past.count('<tr') >= 3  # the fourth page still lists movies (7 and 8)
    assert "pages-beyond" not in past and re.search(r">\s*Capped 0\s*<", past)  # the oldest, last by id

    exact = editor.get(f"/admin/movies/?{arg}={few}").get_data(as_text=True)
    assert "List (3 results)" in exact and "pages-beyond" not in exact


def test_title_search_takes_the_whole_term_as_the_api_does(as_role):
    from domain_services.movies.services import create_movie

    tag = uuid.uuid4().hex[:8]
    create_movie({"title": f"Alpha Beta {tag}", "description": "", "rating": 1})
    create_movie({"title": f"Beta Alpha {tag}", "description": "", "rating": 1})
    create_movie({"title": f"100% Gamma {tag}", "description": "", "rating": 1})
    editor = as_role("editor")

    def listed(search: str) -> list[str]:  # the titles in the list's cells (the search box repeats the term)
        html = editor.get(f"/admin/movies/?search={search}").get_data(as_text=True)
        return re.findall(rf">\s*([^<>]*{tag})\s*<", html)

    assert listed(f"Alpha+Beta+{tag}") == [f"Alpha Beta {tag}"]  # not "Beta Alpha": the words in this order
    assert listed(f"100%25+gamma+{tag}") == [f"100% Gamma {tag}"]
    assert listed(f"1_0%25+{tag}") == []  # _ and % are no wildcards


def test_rating_filter_finds_the_rating(as_role, console_app):
    from domain_services.movies.services import create_movie

    title = f"Rated {uuid.uuid4().hex[:8]}"
    create_movie({"title": title, "description": "", "rating": 9.3})
    arg = _movie_view(console_app).filter_arg("movies.rating", "equals")
    editor = as_role("editor")
    listed = re.compile(rf">\s*{title}\s*<")  # a cell of the list (the search box repeats the term too)
    assert listed.search(editor.get(f"/admin/movies/?{arg}=9.3&search={title}").get_data(as_text=True))
    assert not listed.search(editor.get(f"/admin/movies/?{arg}=9.2&search={title}").get_data(as_text=True))
