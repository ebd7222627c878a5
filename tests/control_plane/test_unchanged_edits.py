"""The catalogue never changes data the operator did not change: an untouched edit form saves nothing."""

from __future__ import annotations

import re
import uuid

from sqlalchemy import func, select

from domain_services.movies.services import create_movie
from domain_services.payments import services as payments
from domain_services.payments import subscriptions
from domain_services.payments.models import Payment
from domain_services.users import services as users
from kernel.db import read_session
from kernel.models import FlagAudit, OutboxEvent


def _user() -> dict:
    tag = uuid.uuid4().hex[:8]
    return users.create_user({"username": f"same-{tag}", "email": f"same-{tag}@example.com",
                              "password": "pw-123456789"})


def _events(key: int | str) -> int:
    with read_session() as session:
        return session.scalar(select(func.count()).select_from(OutboxEvent).where(OutboxEvent.key == str(key)))


def _audits(action: str) -> int:
    with read_session() as session:
        return session.scalar(select(func.count()).select_from(FlagAudit).where(FlagAudit.action == action))


def _selected(html: str, name: str) -> list[str]:
    block = html[html.index(f'name="{name}"'):][:2000]
    block = block[:block.index("</select>")]
    return re.findall(r'<option[^>]*selected[^>]*value="([^"]*)"|<option[^>]*value="([^"]*)"[^>]*selected', block)


def test_payment_edit_preselects_the_current_status_and_offers_the_allowed_moves(as_role):
    payment = payments.create_payment({"user_id": _user()["id"], "amount": 4})
    html = as_role("admin").get(f"/admin/payments/edit/?id={payment['id']}").get_data(as_text=True)
    block = html[html.index('name="status"'):][:2000]
    offered = re.findall(r'<option[^>]*value="([a-z]+)"', block[:block.index("</select>")])
    assert offered == ["pending", *payments.TRANSITIONS["pending"]]
    assert [a or b for a, b in _selected(html, "status")] == ["pending"]


def test_saving_an_unchanged_pending_payment_changes_nothing(as_role):
    payment = payments.create_payment({"user_id": _user()["id"], "amount": 4})
    events, audits = _events(payment["id"]), _audits("catalogue.payment.updated")
    response = as_role("admin").post(f"/admin/payments/edit/?id={payment['id']}", {"status": "pending"})
    assert "Nothing changed" in response.get_data(as_text=True)
    with read_session() as session:
        assert session.get(Payment, payment["id"]).status == "pending"
    assert _events(payment["id"]) == events and _audits("catalogue.payment.updated") == audits


def test_saving_an_unchanged_subscription_keeps_its_exact_dates(as_role):
    sub = subscriptions.create_subscription({"user_id": _user()["id"], "plan_type": "basic",
                                             "start_date": "2026-01-01T08:30:17.250000+00:00",
                                             "end_date": "2026-02-01T08:30:59+00:00"})
    admin, events = as_role("admin"), _events(sub["id"])
    html = admin.get(f"/admin/subscriptions/edit/?id={sub['id']}").get_data(as_text=True)
    assert 'value="2026-01-01T08:30"' in html  # shown in UTC at the field's precision
    response = admin.post(f"/admin/subscriptions/edit/?id={sub['id']}", {
        "plan_type": "basic", "start_date": "2026-01-01T08:30", "end_date": "2026-02-01T08:30"})
    assert "Nothing changed" in response.get_data(as_text=True)
    after = subscriptions.get_subscription(sub["id"])
    assert after["start_date"] == sub["start_date"] and after["end_date"] == sub["end_date"]
    assert _events(sub["id"]) == events


def test_saving_an_unchanged_disabled_user_sends_nothing_to_the_domain(as_role):
    user = _user()
    users.update_user(user["id"], {"disabled": True})
    events = _events(user["id"])
    response = as_role("admin").post(f"/admin/users/edit/?id={user['id']}", {
        "username": user["username"], "email": user["email"], "role": "user", "disabled": "y"})
    assert "Nothing changed" in response.get_data(as_text=True)
    assert _events(user["id"]) == events


def test_saving_an_unchanged_movie_emits_no_event(as_role):
    movie = create_movie({"title": f"Same {uuid.uuid4().hex[:6]}", "description": "d", "rating": 7.5,
                          "genres": ["Drama", "Crime"]})
    events = _events(movie["id"])
    response = as_role("editor").post(f"/admin/movies/edit/?id={movie['id']}", {
        "title": movie["title"], "description": "d", "rating": "7.5", "genres_text": "Drama, Crime"})
    assert "Nothing changed" in response.get_data(as_text=True)
    assert _events(movie["id"]) == events


def test_a_changed_field_alone_goes_to_the_domain(as_role):
    sub = subscriptions.create_subscription({"user_id": _user()["id"], "plan_type": "basic",
                                             "start_date": "2026-01-01T08:30:17+00:00", "end_date": "2026-02-01"})
    response = as_role("admin").post(f"/admin/subscriptions/edit/?id={sub['id']}", {
        "plan_type": "premium", "start_date": "2026-01-01T08:30", "end_date": "2026-02-01T00:00"})
    assert response.status_code == 302
    after = subscriptions.get_subscription(sub["id"])
    assert after["plan_type"] == "premium" and after["start_date"] == sub["start_date"]


def test_subscription_period_error_sits_under_the_end_date_with_labels(as_role):
    sub = subscriptions.create_subscription({"user_id": _user()["id"], "plan_type": "basic",
                                             "start_date": "2026-03-01", "end_date": "2026-04-01"})
    html = as_role("admin").post(f"/admin/subscriptions/edit/?id={sub['id']}", {
        "plan_type": "basic", "start_date": "2026-03-01T00:00", "end_date": "2026-01-01T00:00"}).get_data(as_text=True)
    end_block = html[html.index('id="end_date"'):][:1500]
    start_block = html[html.index('id="start_date"'):html.index('id="end_date"')]
    assert "must not be before" in end_block and "must not be before" not in start_block
    assert "End Date must not be before Start Date" in end_block
