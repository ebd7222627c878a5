"""No input yields a 5xx: hostile query parameters, JSON bodies and console forms.

A 5xx from a service counts toward the strangler's automatic rollback, so a caller who can
provoke one at will can roll a migration back. Each attack found so far is a fixed test;
Hypothesis then throws Unicode of every category, huge and negative numbers, deep nesting
and repeated keys at every public route of the monolith and each service (their Flask test
clients, the same blueprints the processes serve) and at the console's forms.
"""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.control_plane.conftest import Console, console_app, csrf_from, operators  # noqa: F401  (fixtures)
from tests.domain_services.conftest import apps  # noqa: F401  (fixture)

ADMIN = {"X-User-Id": "1", "X-User-Role": "admin"}
IDENTITIES = [{}, {"X-User-Id": "1"}, {"X-User-Id": "2", "X-User-Role": "editor"}, ADMIN]
#: The nine parameters the attack used, by the route that reads them (plus each list's ``offset``).
QUERY_PARAMETERS = {
    "/api/movies": ("id", "limit", "offset", "search", "genre"),
    "/api/users": ("id", "limit", "offset", "search"),
    "/api/payments": ("id", "user_id", "limit", "offset"),
    "/api/subscriptions": ("id", "user_id", "limit", "offset"),
}
DOMAIN_OF = {"/api/movies": "movies", "/api/users": "users", "/api/payments": "payments",
             "/api/subscriptions": "payments"}
#: Strings ``str.isdigit`` or ``int`` (or both) take for numbers.
TRICK_NUMBERS = ["²", "٣", "\uff11", "+1", " 1", "1 ", "-1", "1_0", "0x1", "1e3", "1.5", "99999999999",
                 "9" * 5000, "2147483648", "", "\x00", "%00"]
#: Routes that call the payment provider: with no provider running they answer 502 by design.
PROVIDER_ROUTES = re.compile(r"/api/payments/[^/]+/(checkout|refund)$")
FIELDS = ["title", "description", "rating", "genres", "username", "email", "password", "user_id", "amount",
          "status", "plan_type", "start_date", "end_date", "auto_renew", "role", "disabled", "payment_method",
          "refresh_token", "movie_id", "action", "timestamp", "payment_id", "method_type", "id"]
FUZZ = settings(max_examples=120, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

unicode_text = st.text(st.characters(codec="utf-8"), max_size=60)  # every category but lone surrogates
numbers_as_text = st.one_of(st.integers().map(str), st.integers(min_value=2**31).map(str),
                            st.integers(max_value=-1).map(str), st.sampled_from(TRICK_NUMBERS))
query_values = st.one_of(unicode_text, numbers_as_text)
json_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), unicode_text)
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.sampled_from(FIELDS) | unicode_text, inner, max_size=6),
                           max_leaves=25)


def _nested(depth: int, opener: str) -> bytes:
    closer = {"[": "]", '{"a":': "}"}[opener]
    return (opener * depth + "1" + closer * depth).encode()


def _repeated_keys(pairs: list[tuple[str, object]]) -> bytes:
    return ("{" + ",".join(f"{json.dumps(k)}:{json.dumps(v)}" for k, v in pairs) + "}").encode()


raw_bodies = st.one_of(
    json_values.map(lambda value: json.dumps(value).encode()),  # floats may spell NaN/Infinity
    st.dictionaries(st.sampled_from(FIELDS), json_values, min_size=1).map(lambda d: json.dumps(d).encode()),
    st.builds(_nested, st.integers(1, 20_000), st.sampled_from(["[", '{"a":'])),
    st.lists(st.tuples(st.sampled_from(FIELDS), json_scalars), min_size=2, max_size=6).map(_repeated_keys),
    st.binary(max_size=200),
)


def _assert_json_below_500(response, what: str) -> None:
    assert response.status_code < 500, f"{what} -> {response.status_code}: {response.get_data(as_text=True)[:300]}"
    if response.status_code >= 400:
        assert "error" in response.get_json(silent=True), f"{what} -> non-JSON {response.status_code}"


def _client(apps, deployment: str, route: str):  # noqa: F811
    return apps["monolith" if deployment == "monolith" else DOMAIN_OF[route]].test_client()


# -- the reported attacks, one by one ---------------------------------------------------------------------


@pytest.mark.parametrize("deployment", ["monolith", "service"])
@pytest.mark.parametrize(("route", "parameter"), [(r, p) for r, ps in QUERY_PARAMETERS.items() for p in ps
                                                  if p not in ("search", "genre")])
@pytest.mark.parametrize("value", ["²", "٣", "+1", " 1", "-1", "99999999999999999999999"])
def test_a_trick_number_in_any_id_limit_or_offset_is_a_json_400(apps, deployment, route, parameter, value):  # noqa: F811
    response = _client(apps, deployment, route).get(route, query_string={parameter: value}, headers=ADMIN)
    assert response.status_code == 400, response.get_data(as_text=True)[:200]
    assert parameter in response.get_json()["error"]


@pytest.mark.parametrize("raw", [b"[" * 50_000, b'{"a":' * 5000 + b"1" + b"}" * 5000, b'{"title": "x", "title": 1}',
                                 b'{"rating": NaN}'])
def test_nested_repeated_or_non_finite_json_bodies_are_a_json_400(apps, raw):  # noqa: F811
    response = apps["monolith"].test_client().post("/api/movies", data=raw, headers=ADMIN,
                                                   content_type="application/json")
    assert response.status_code == 400
    assert "error" in response.get_json()


# -- properties over every route ----------------------------------------------------------------------------


@pytest.mark.parametrize("deployment", ["monolith", "service"])
@pytest.mark.parametrize("route", sorted(QUERY_PARAMETERS))
def test_no_query_string_yields_a_5xx(apps, deployment, route):  # noqa: F811
    client = _client(apps, deployment, route)
    names = st.sampled_from(QUERY_PARAMETERS[route]) | unicode_text

    @FUZZ
    @given(query=st.lists(st.tuples(names, query_values), max_size=5), identity=st.sampled_from(IDENTITIES))
    def probe(query, identity):
        _assert_json_below_500(client.get(route, query_string=query, headers=identity), f"GET {route} {query!r}")

    probe()


def _write_routes(app) -> list[tuple[str, str]]:
    """Every (method, path template) that takes a body, path ids left as ``{id}``."""
    found = []
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods & {"POST", "PATCH", "PUT", "DELETE"}):
            found.append((method, re.sub(r"<[^>]+>", "{id}", rule.rule)))
    return sorted(found)


def test_no_json_body_or_path_id_yields_a_5xx(apps):  # noqa: F811
    client = apps["monolith"].test_client()
    routes = _write_routes(apps["monolith"])
    assert len(routes) >= 12, routes
    path_ids = st.sampled_from(["1", "2", "3", "2147483647", "2147483648", "0", "²", "٣", "-1", "9" * 50])

    @settings(FUZZ, max_examples=400)
    @given(route=st.sampled_from(routes), path_id=path_ids, body=raw_bodies, identity=st.sampled_from(IDENTITIES))
    def probe(route, path_id, body, identity):
        method, template = route
        path = template.replace("{id}", path_id)
        if PROVIDER_ROUTES.search(path) and identity is ADMIN:
            return  # reaches the provider; its absence is a 502 by design, not an input error
        response = client.open(path, method=method, data=body, headers=identity, content_type="application/json")
        _assert_json_below_500(response, f"{method} {path} {body[:80]!r}")

    probe()


# -- the console's forms ------------------------------------------------------------------------------------

#: Console POST routes fuzzed as an admin. Left out: Kafka produce/republish (would write junk into
#: topics other suites read), operator administration (could lock the test operators out), logout.
CONSOLE_FORMS = ["/strangler/{domain}/percent", "/strangler/{domain}/mode", "/strangler/{domain}/settings",
                 "/strangler/{domain}/rollback", "/rollouts/{domain}/start", "/rollouts/{domain}/pause",
                 "/rollouts/{domain}/resume", "/rollouts/{domain}/abort", "/admin/movies/new/",
                 "/admin/users/new/", "/admin/payments/new/", "/admin/subscriptions/new/",
                 "/admin/movies/edit/?id={id}", "/admin/users/edit/?id={id}", "/admin/payments/edit/?id={id}",
                 "/admin/subscriptions/edit/?id={id}"]
FORM_FIELDS = ["percent", "step", "mode", "reason", "confirm", "steps", "hold_seconds", "sticky_key", "fallback",
               "auto_rollback", "rollback_error_rate", "rollback_min_requests", "shadow_percent",
               "rollback_consecutive", *FIELDS]


def test_console_percent_superscript_is_refused_not_a_500(console_app, operators):  # noqa: F811
    console = Console(console_app)
    assert console.login(operators["admin"]).status_code == 302
    for raw in ("²", "٣", "\uff15", "1" * 5000):
        response = console.post("/strangler/movies/percent", {"percent": raw, "reason": "fuzz"},
                                headers={"HX-Request": "true"})
        assert response.status_code == 400  # the card with the refusal next to the control
        assert "percent must be a whole number 0..100" in response.get_data(as_text=True)


def test_no_console_form_yields_a_5xx(console_app, operators):  # noqa: F811
    console = Console(console_app)
    assert console.login(operators["admin"]).status_code == 302
    form_values = st.one_of(query_values, st.sampled_from(["on", "yes", "gradual", "service", "monolith", "50"]))

    @settings(FUZZ, max_examples=300)
    @given(form=st.sampled_from(CONSOLE_FORMS), domain=st.sampled_from(["movies", "users", "nope"]),
           record_id=st.sampled_from(["1", "²", "-1", "9" * 40, ""]),
           data=st.dictionaries(st.sampled_from(FORM_FIELDS) | unicode_text, form_values, max_size=8),
           htmx=st.booleans())
    def probe(form, domain, record_id, data, htmx):
        path = form.format(domain=domain, id=record_id)
        response = console.post(path, data, headers={"HX-Request": "true"} if htmx else {})
        assert response.status_code < 500, f"POST {path} {data!r} -> {response.status_code}"

    probe()


def test_no_login_form_yields_a_5xx(console_app):  # noqa: F811
    console = Console(console_app)
    # its own address: these failures must not use up the window other suites log in from
    console.client.environ_base["REMOTE_ADDR"] = "192.0.2.50"
    token = csrf_from(console.get("/login").get_data(as_text=True))

    @settings(FUZZ, max_examples=60)
    @given(username=query_values, password=query_values)
    def probe(username, password):
        response = console.client.post("/login", data={"username": username, "password": password,
                                                        "csrf_token": token})
        assert response.status_code < 500, f"login {username!r} -> {response.status_code}"

    probe()
