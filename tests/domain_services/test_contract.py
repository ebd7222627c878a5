"""docs/architecture.md §4 contract, run against both deployments (monolith and the domain service).

Every test takes a ``*_api`` fixture parametrised over ``monolith`` and ``service``.

Identity arrives as the gateway's ``X-User-Id``/``X-User-Role`` headers: calls that act on a
user's payments or subscriptions carry them (:func:`as_user`, :data:`PAYMENT_SIDE`), as the
gateway would set them from the caller's token; a call without them is anonymous.
"""

from __future__ import annotations

import pytest

from kernel import registry
from tests.domain_services.conftest import unique

TOO_BIG = b'{"title": "' + b"x" * (2 * 1024 * 1024) + b'"}'
MALFORMED = [
    (b"{not json", "request body is not valid JSON"),
    (b"", "request body must be a JSON object"),
    (b"[1, 2]", "request body must be a JSON object"),
    (b'"\\ud800"', "request body is not valid JSON"),  # a lone surrogate cannot be stored
]


# The payment side (role ``service``/``admin``) moves statuses and grants subscriptions; as a
# privileged caller it may also name the user of a rating in the body.
PAYMENT_SIDE = {"X-User-Id": "1", "X-User-Role": "admin"}


def as_user(user: dict) -> dict[str, str]:
    """The headers the gateway sets for ``user``'s access token."""
    return {"X-User-Id": str(user["id"]), "X-User-Role": "user"}


def post_raw(client, path: str, data: bytes, headers: dict[str, str] | None = None):
    return client.post(path, data=data, content_type="application/json", headers=headers or {})


def assert_error(response, status: int, fragment: str = "") -> None:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.is_json and set(response.json) == {"error"}
    assert fragment in response.json["error"]


# --- health and documents -------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/api/movies/health", "/api/users/health", "/api/payments/health"])
def test_services_answer_health(apps, path):
    app = apps[path.split("/")[2]]
    assert app.test_client().get(path).json == {"status": True}


def test_monolith_health(monolith_client):
    assert monolith_client.get("/health").status_code == 200


def test_openapi_document_is_served(movies_api):
    doc = movies_api.get("/openapi.json").json
    assert doc["openapi"].startswith("3.0") and "/api/movies/{movie_id}/ratings" in doc["paths"]


def test_monolith_document_is_the_union_of_the_services(apps):
    monolith = apps["monolith"].test_client().get("/openapi.json").json
    union = set()
    for name in registry.FLAGGED:
        union |= set(apps[name].test_client().get("/openapi.json").json["paths"])
    assert set(monolith["paths"]) - {"/health"} == union - {registry.domain(n).health_path for n in registry.FLAGGED}


# --- movies ---------------------------------------------------------------------------------

def test_movies_list_is_a_plain_array_of_contract_objects(movies_api):
    movies = movies_api.get("/api/movies").json
    assert isinstance(movies, list) and movies
    assert set(movies[0]) == {"id", "title", "description", "genres", "rating", "user_rating", "votes",
                              "release_date", "duration_minutes", "poster_url"}


def test_create_and_get_movie(movies_api):
    title = unique("Film ")
    created = movies_api.post("/api/movies", json={"title": title, "description": "x", "genres": ["Drama"],
                                                    "rating": 7.26})
    assert created.status_code == 201
    assert created.json["rating"] == 7.3 and created.json["genres"] == ["Drama"]
    assert movies_api.get(f"/api/movies?id={created.json['id']}").json == created.json


def test_search_genre_and_paging(movies_api, movie):
    genre = movie["genres"][0]
    assert movies_api.get(f"/api/movies?genre={genre}").json == [movie]
    assert movies_api.get(f"/api/movies?search={movie['title'][-12:].upper()}").json == [movie]
    page = movies_api.get("/api/movies?limit=2&offset=1").json
    assert len(page) == 2 and page[0]["id"] == movies_api.get("/api/movies?limit=2").json[1]["id"]


def test_genres_have_counts(movies_api, movie):
    genres = movies_api.get("/api/movies/genres").json
    assert {"genre": movie["genres"][0], "count": 1} in genres
    assert all(set(g) == {"genre", "count"} for g in genres)


def test_rating_updates_the_users_average_and_never_the_editorial_rating(movies_api, movie, user, apps):
    second = apps["users"].test_client().post("/api/users", json={"username": unique("r"),
                                                                  "email": f"{unique()}@example.com"},
                                              headers=PAYMENT_SIDE).json
    path = f"/api/movies/{movie['id']}/ratings"
    assert movies_api.get(f"/api/movies?id={movie['id']}").json["user_rating"] is None  # no votes yet
    first = movies_api.post(path, json={"rating": 8, "review": "good"}, headers=as_user(user))
    assert first.status_code == 201 and first.json["movie"]["user_rating"] == 8.0
    assert first.json["movie"]["rating"] == movie["rating"] == 5.0  # one user's vote is not the editors' rating
    # a rating is always the caller's: a user_id in the body does not make it someone else's
    via_header = movies_api.post(path, json={"rating": 5, "user_id": user["id"]}, headers=as_user(second))
    assert via_header.status_code == 201 and via_header.json["user_id"] == second["id"]
    assert via_header.json["movie"]["user_rating"] == 6.5 and via_header.json["movie"]["votes"] == 2
    assert_error(movies_api.post(path, json={"user_id": user["id"], "rating": 1}), 401)  # anonymous
    again = movies_api.post(path, json={"user_id": user["id"], "rating": 10}, headers=PAYMENT_SIDE)  # replaces
    assert again.status_code == 200 and again.json["movie"]["user_rating"] == 7.5
    shown = movies_api.get(f"/api/movies?id={movie['id']}").json
    assert (shown["rating"], shown["user_rating"], shown["votes"]) == (5.0, 7.5, 2)


@pytest.mark.parametrize(("body", "status", "fragment"), [
    ({"title": "t", "description": "d"}, 400, "missing required field: rating"),
    ({"title": "t", "description": "d", "rating": 11}, 400, "rating"),
    ({"title": "t", "description": "d", "rating": -1}, 400, "rating"),
    ({"title": "t", "description": "d", "rating": "9"}, 400, "must be a number"),
    ({"title": 5, "description": "d", "rating": 9}, 400, "must be a string"),
    ({"title": "t", "description": "d", "rating": 9, "genres": "Drama"}, 400, "genres"),
])
def test_invalid_movies_are_rejected(movies_api, body, status, fragment):
    assert_error(movies_api.post("/api/movies", json=body), status, fragment)


@pytest.mark.parametrize(("body", "headers", "fragment"), [
    ({"user_id": 1, "rating": 11}, {}, "rating"),
    ({"user_id": 1, "rating": 0}, {}, "rating"),
    ({"user_id": 1, "rating": 7.5}, {}, "must be an integer"),
    ({"user_id": 1}, {}, "missing required field: rating"),
    ({"rating": 5}, {}, "missing required field: user_id"),
    ({"rating": 5}, {"X-User-Id": "abc"}, "X-User-Id"),
    ({"user_id": 2**31 - 1, "rating": 5}, {}, "does not exist"),
])
def test_invalid_ratings_are_rejected(movies_api, movie, body, headers, fragment):
    response = movies_api.post(f"/api/movies/{movie['id']}/ratings", json=body, headers=headers or PAYMENT_SIDE)
    assert_error(response, 400, fragment)


def test_rating_an_unknown_movie_is_404(movies_api):
    assert_error(movies_api.post("/api/movies/2147483647/ratings", json={"user_id": 1, "rating": 5},
                                 headers=PAYMENT_SIDE), 404)
    assert_error(movies_api.post("/api/movies/99999999999/ratings", json={"user_id": 1, "rating": 5}), 404)


def test_unknown_movie_is_404(movies_api):
    assert_error(movies_api.get("/api/movies?id=2147483647"), 404, "not found")


@pytest.mark.parametrize("query", ["id=abc", "id=0", "id=99999999999", "limit=0", "limit=x", "offset=-1",
                                   "search=%00"])
def test_bad_query_parameters_are_400(movies_api, query):
    assert_error(movies_api.get(f"/api/movies?{query}"), 400)


# --- users ----------------------------------------------------------------------------------

def test_users_list_get_and_create(users_api):
    name = unique("c")
    created = users_api.post("/api/users", json={"username": name, "email": f"{name}@Example.com"},
                             headers=PAYMENT_SIDE)
    assert created.status_code == 201
    assert created.json == {"id": created.json["id"], "username": name, "email": f"{name}@example.com"}
    assert users_api.get(f"/api/users?id={created.json['id']}", headers=as_user(created.json)).json == created.json
    # anyone else (here: anonymous) sees the same shape with the e-mail withheld
    assert users_api.get(f"/api/users?id={created.json['id']}").json == {**created.json, "email": None}
    listed = users_api.get("/api/users").json
    assert isinstance(listed, list) and all(set(u) == {"id", "username", "email"} for u in listed)


def test_duplicate_username_or_email_is_409(users_api, user):
    same_name = users_api.post("/api/users", json={"username": user["username"], "email": f"{unique()}@x.io"},
                               headers=PAYMENT_SIDE)
    assert_error(same_name, 409, "username")
    same_mail = users_api.post("/api/users", json={"username": unique(), "email": user["email"].upper()},
                               headers=PAYMENT_SIDE)
    assert_error(same_mail, 409, "email")


@pytest.mark.parametrize(("body", "fragment"), [
    ({"email": "a@b.io"}, "missing required field: username"),
    ({"username": "abc"}, "missing required field: email"),
    ({"username": 12345, "email": "a@b.io"}, "must be a string"),
    ({"username": "a b", "email": "a@b.io"}, "username"),
    ({"username": "abcd", "email": "nope"}, "e-mail"),
])
def test_invalid_users_are_rejected(users_api, body, fragment):
    assert_error(users_api.post("/api/users", json=body, headers=PAYMENT_SIDE), 400, fragment)


def test_unknown_user_is_404(users_api):
    assert_error(users_api.get("/api/users?id=2147483647"), 404)


# --- payments and subscriptions ---------------------------------------------------------------

def test_payments_create_list_get(payments_api, user):
    mine = as_user(user)
    created = payments_api.post("/api/payments", json={"user_id": user["id"], "amount": 9.99, "plan_type": "basic"},
                                headers=mine)
    assert created.status_code == 201
    assert set(created.json) == {"id", "user_id", "amount", "timestamp"} and created.json["amount"] == 9.99
    assert "+00:00" in created.json["timestamp"]
    assert payments_api.get(f"/api/payments?user_id={user['id']}", headers=mine).json == [created.json]
    assert payments_api.get(f"/api/payments?id={created.json['id']}", headers=mine).json == created.json


def test_payment_status_transitions(payments_api, user):
    payment = payments_api.post("/api/payments", json={"user_id": user["id"], "amount": 3, "status": "pending"},
                                headers=as_user(user)).json
    path = f"/api/payments/{payment['id']}/status"
    done = payments_api.post(path, json={"status": "completed"}, headers=PAYMENT_SIDE)
    assert done.status_code == 200 and done.json["status"] == "completed"
    assert_error(payments_api.post(path, json={"status": "pending"}, headers=PAYMENT_SIDE), 409,
                 "cannot go from completed to pending")
    assert payments_api.post(path, json={"status": "refunded"}, headers=PAYMENT_SIDE).json["status"] == "refunded"
    assert_error(payments_api.post(path, json={"status": "paid"}, headers=PAYMENT_SIDE), 400, "status")
    assert_error(payments_api.post(path, json={}, headers=PAYMENT_SIDE), 400, "missing required field: status")
    assert_error(payments_api.post("/api/payments/2147483647/status", json={"status": "completed"},
                                   headers=PAYMENT_SIDE), 404)


@pytest.mark.parametrize(("body", "fragment"), [
    ({"amount": 5}, "missing required field: user_id"),
    ({"user_id": 1}, "missing required field: amount"),
    ({"user_id": "1", "amount": 5}, "must be an integer"),
    ({"user_id": 1, "amount": 0}, "amount"),
    ({"user_id": 1, "amount": 5, "plan_type": "gold"}, "plan_type"),
    ({"user_id": 2147483647, "amount": 5}, "does not exist"),
])
def test_invalid_payments_are_rejected(payments_api, body, fragment):
    assert_error(payments_api.post("/api/payments", json=body, headers=PAYMENT_SIDE), 400, fragment)


def test_subscriptions_create_list_get(payments_api, user):
    body = {"user_id": user["id"], "plan_type": "premium", "start_date": "2026-01-01", "end_date": "2026-01-01"}
    created = payments_api.post("/api/subscriptions", json=body, headers=PAYMENT_SIDE)
    assert created.status_code == 201, created.json  # end may equal start
    assert set(created.json) == {"id", "user_id", "plan_type", "start_date", "end_date"}
    mine = as_user(user)
    assert payments_api.get(f"/api/subscriptions?user_id={user['id']}", headers=mine).json == [created.json]
    assert payments_api.get(f"/api/subscriptions?id={created.json['id']}", headers=mine).json == created.json


@pytest.mark.parametrize(("body", "fragment"), [
    ({"start_date": "2026-02-01", "end_date": "2026-01-01"}, "end_date must not be before start_date"),
    ({"start_date": "yesterday", "end_date": "2026-01-01"}, "start_date"),
    ({"user_id": 2147483647, "start_date": "2026-01-01", "end_date": "2026-02-01"}, "does not exist"),
    ({"plan_type": "gold", "start_date": "2026-01-01", "end_date": "2026-02-01"}, "plan_type"),
])
def test_invalid_subscriptions_are_rejected(payments_api, user, body, fragment):
    full = {"user_id": user["id"], "plan_type": "basic", **body}
    assert_error(payments_api.post("/api/subscriptions", json=full, headers=PAYMENT_SIDE), 400, fragment)


@pytest.mark.parametrize("path", ["/api/payments?id=2147483647", "/api/subscriptions?id=2147483647"])
def test_unknown_payment_or_subscription_is_404(payments_api, path):
    assert_error(payments_api.get(path, headers=PAYMENT_SIDE), 404)


# --- body handling, every write endpoint -------------------------------------------------------

WRITES = {
    "movies": ["/api/movies", "/api/movies/1/ratings"],
    "users": ["/api/users", "/api/auth/register", "/api/auth/login"],
    "payments": ["/api/payments", "/api/subscriptions", "/api/payments/1/status"],
}


@pytest.mark.parametrize(("domain", "path"), [(d, p) for d, paths in WRITES.items() for p in paths])
@pytest.mark.parametrize("deployment", ["monolith", "service"])
def test_malformed_and_huge_bodies_are_json_4xx(apps, domain, path, deployment):
    client = apps["monolith" if deployment == "monolith" else domain].test_client()
    for raw, message in MALFORMED:
        assert_error(post_raw(client, path, raw, PAYMENT_SIDE), 400, message)
    assert_error(post_raw(client, path, TOO_BIG, PAYMENT_SIDE), 413, "too large")


def test_unknown_route_and_method_are_json(movies_api):
    assert_error(movies_api.get("/api/movies/nope"), 404)
    assert_error(movies_api.delete("/api/movies"), 405)
