"""The fast path answers the statement POSTs exactly as Django's stack does, only sooner.

Every request below goes once through the application with the fast path and once through
Django's own ASGI application (both behind the body limit, as served), and the two answers
must agree: status, body, and every header but the length.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.asgi import get_asgi_application

from quorum.core.limits import BodyLimitASGI
from quorum.fastpath.app import FastPath, route
from quorum.initiatives.models import Initiative
from quorum.ledger.models import Statement
from quorum.signing.ratelimit import reset_rate_store
from quorum.signing.selectors import forget_intake_targets

pytestmark = pytest.mark.django_db(transaction=True)

API = "/api/v1/initiatives/clean-air/statements"
FORM = "/i/clean-air/sign/pl/"
CHALLENGE = "/api/v1/pow/challenge"
JSON = {"content-type": "application/json"}
FORM_ENCODED = {"content-type": "application/x-www-form-urlencoded"}
POLISH = {
    "nationality": "PL",
    "first_names": "Zofia",
    "family_names": "Kowalska",
    "id_type": "pesel",
    "id_number": "44051401359",
}
# Headers whose values are expected to differ between two answers to the same request.
VOLATILE = {"content-length", "date", "server"}


@pytest.fixture(scope="module")
def applications() -> dict[str, Any]:
    django = get_asgi_application()
    return {"fast": BodyLimitASGI(FastPath(django)), "django": BodyLimitASGI(django)}


@pytest.fixture
def ready(collecting_initiative, authority_keys, settings):
    settings.QUORUM_POW = False
    settings.QUORUM_RATE_BURST = 10**6
    settings.QUORUM_RATE_SUSTAINED = 10**6
    reset_rate_store()
    yield
    reset_rate_store()


def form_body(**changes: str) -> bytes:
    from urllib.parse import urlencode

    values = {k: v for k, v in POLISH.items() if k != "nationality"}
    values["privacy_read"] = "yes"
    values.update(changes)
    return urlencode(values).encode()


def both(asgi_call, applications, *args: Any, **kwargs: Any):
    return asgi_call(applications["fast"], *args, **kwargs), asgi_call(
        applications["django"], *args, **kwargs
    )


def assert_same_headers(fast, django) -> None:
    fast_headers = {k: v for k, v in fast.headers.items() if k not in VOLATILE}
    django_headers = {k: v for k, v in django.headers.items() if k not in VOLATILE}
    assert fast_headers == django_headers


REFUSED_API_REQUESTS = {
    "not JSON": (JSON, b"{not json"),
    "no body": (JSON, b""),
    "an array": (JSON, b"[]"),
    "a number": (JSON, b"42"),
    "an unknown field": (JSON, json.dumps({**POLISH, "shoe_size": 44}).encode()),
    "a field of the wrong type": (JSON, json.dumps({**POLISH, "first_names": 7}).encode()),
    "a wrong check digit": (JSON, json.dumps({**POLISH, "id_number": "44051401358"}).encode()),
    "an unknown nationality": (JSON, json.dumps({**POLISH, "nationality": "XX"}).encode()),
    "form encoded": (FORM_ENCODED, b"nationality=PL"),
    "text/plain": ({"content-type": "text/plain"}, json.dumps(POLISH).encode()),
    "UTF-16": ({"content-type": "application/json; charset=utf-16"}, b"{}"),
    "invalid UTF-8": (JSON, b'{"first_names": "\xff\xfe"}'),
    "a control character": (JSON, json.dumps({**POLISH, "first_names": "Zo\u0000fia"}).encode()),
    "too large": (JSON, b'{"first_names": "' + b"a" * 70_000 + b'"}'),
}


@pytest.mark.parametrize("name", list(REFUSED_API_REQUESTS))
@pytest.mark.parametrize("language", ["en", "de"])
def test_a_refused_api_statement_gets_the_same_answer_by_either_path(
    asgi_call, applications, ready, name: str, language: str
) -> None:
    headers, body = REFUSED_API_REQUESTS[name]
    fast, django = both(
        asgi_call,
        applications,
        "POST",
        API,
        headers={**headers, "accept-language": language},
        body=body,
    )
    assert 400 <= fast.status < 500, fast.body[:300]
    assert (fast.status, fast.body) == (django.status, django.body)
    assert_same_headers(fast, django)
    assert fast.headers["content-type"].startswith("application/json")
    assert Statement.objects.count() == 0


def test_an_accepted_api_statement_gets_a_receipt_with_the_same_headers(
    asgi_call, applications, ready
) -> None:
    body = json.dumps(POLISH).encode()
    fast, django = both(asgi_call, applications, "POST", API, headers=JSON, body=body)

    assert fast.status == django.status == 201
    assert set(json.loads(fast.body)) == set(json.loads(django.body)) == {"receipt"}
    assert fast.body != django.body  # two statements, two receipts
    # The fast path writes the 201 itself: byte for byte Django's, but for the receipt.
    fast_receipt, django_receipt = (json.loads(a.body)["receipt"].encode() for a in (fast, django))
    assert fast.body.replace(fast_receipt, b"R") == django.body.replace(django_receipt, b"R")
    assert_same_headers(fast, django)
    assert Statement.objects.count() == 2
    receipts = {json.loads(a.body)["receipt"] for a in (fast, django)}
    assert receipts == {bytes(s.leaf_hash).hex() for s in Statement.objects.all()}


def test_answers_of_one_shape_keep_the_headers_of_their_language(
    asgi_call, applications, ready
) -> None:
    # The fast path works the middleware's headers out once per shape of answer: the second
    # answer of a shape must still get what Django's stack gives it, never another's.
    body = json.dumps(POLISH).encode()
    for language in ("en", "de", "en", "pl", "de"):
        headers = {**JSON, "accept-language": language}
        fast, django = both(asgi_call, applications, "POST", API, headers=headers, body=body)

        assert fast.status == django.status == 201
        assert fast.headers["content-language"] == language
        assert_same_headers(fast, django)


def test_the_form_gets_the_same_page_by_either_path_when_refused(
    asgi_call, applications, ready
) -> None:
    body = form_body(id_number="44051401358")
    fast, django = both(asgi_call, applications, "POST", FORM, headers=FORM_ENCODED, body=body)

    assert fast.status == django.status == 422
    assert fast.body == django.body
    assert_same_headers(fast, django)
    assert 'value="Zofia"' in fast.text()
    assert "set-cookie" not in fast.headers


def test_the_form_shows_the_receipt_by_either_path(asgi_call, applications, ready) -> None:
    fast, django = both(
        asgi_call, applications, "POST", FORM, headers=FORM_ENCODED, body=form_body()
    )

    assert fast.status == django.status == 200
    assert_same_headers(fast, django)
    assert Statement.objects.count() == 2
    for answer in (fast, django):
        assert any(bytes(s.leaf_hash).hex() in answer.text() for s in Statement.objects.all())


@pytest.mark.parametrize(
    "headers",
    [{"origin": "https://evil.example"}, {"sec-fetch-site": "cross-site"}],
    ids=["other origin", "cross-site fetch"],
)
def test_a_form_from_another_site_is_refused_by_either_path(
    asgi_call, applications, ready, headers: dict[str, str]
) -> None:
    fast, django = both(
        asgi_call, applications, "POST", FORM, headers={**FORM_ENCODED, **headers}, body=form_body()
    )
    assert fast.status == django.status == 403
    assert fast.body == django.body
    assert Statement.objects.count() == 0


@pytest.mark.parametrize(
    "path",
    [
        "/i/clean-air/sign/xx/",
        "/i/clean-air/sign/PL/",
        "/i/no-such-initiative/sign/pl/",
        "/api/v1/initiatives/no-such-initiative/statements",
    ],
)
def test_what_is_not_there_is_the_same_404_by_either_path(
    asgi_call, applications, ready, path: str
) -> None:
    headers = JSON if path.startswith("/api/") else FORM_ENCODED
    body = json.dumps(POLISH).encode() if path.startswith("/api/") else form_body()
    fast, django = both(asgi_call, applications, "POST", path, headers=headers, body=body)
    assert fast.status == django.status == 404
    assert fast.body == django.body
    assert_same_headers(fast, django)


def test_a_closed_initiative_refuses_by_either_path(asgi_call, applications, ready) -> None:
    Initiative.objects.update(status=Initiative.Status.COLLECTION_CLOSED)
    forget_intake_targets()
    fast, django = both(
        asgi_call, applications, "POST", API, headers=JSON, body=json.dumps(POLISH).encode()
    )
    assert fast.status == django.status == 409
    assert fast.body == django.body


def test_a_host_that_is_not_allowed_is_refused_by_either_path(
    asgi_call, applications, ready
) -> None:
    fast, django = both(
        asgi_call,
        applications,
        "POST",
        API,
        headers={**JSON, "host": "evil.example"},
        body=json.dumps(POLISH).encode(),
    )
    assert fast.status == django.status == 400
    assert Statement.objects.count() == 0


@pytest.mark.parametrize(
    ("method", "path", "taken"),
    [
        ("POST", API, True),
        ("POST", FORM, True),
        ("GET", API, False),
        ("GET", FORM, False),
        ("HEAD", API, False),
        ("POST", "/i/clean-air/sign/", False),
        ("POST", API + "/", False),
        ("POST", "/api/v1/initiatives/clean-air/statements/extra", False),
        ("POST", "/manage/login/", False),
        ("GET", CHALLENGE, True),
        ("HEAD", CHALLENGE, False),
        ("POST", CHALLENGE, False),
        ("GET", CHALLENGE + "/", False),
    ],
)
def test_only_the_statement_posts_and_the_challenge_take_the_fast_path(
    method: str, path: str, taken: bool
) -> None:
    assert (route({"type": "http", "method": method, "path": path}) is not None) == taken


def test_someone_signed_in_goes_through_django_which_knows_their_session() -> None:
    scope = {
        "type": "http",
        "method": "POST",
        "path": FORM,
        "headers": [(b"cookie", b"lang=de; sessionid=abc")],
    }
    assert route(scope) is None
    assert route({**scope, "headers": [(b"cookie", b"django_language=de")]}) is not None


def test_the_benchmark_ceiling_is_not_there_unless_a_benchmark_asks_for_it(
    asgi_call, applications, ready, settings
) -> None:
    settings.QUORUM_BENCH_CEILING = ""
    answer = asgi_call(applications["fast"], "POST", "/bench/ceiling", headers=JSON, body=b"{}")
    assert answer.status == 404
    assert Statement.objects.count() == 0


def test_the_benchmark_ceiling_stores_one_statement_sized_row_durably(
    asgi_call, applications, ready, settings
) -> None:
    from quorum.fastpath import ceiling

    settings.QUORUM_BENCH_CEILING = "clean-air"
    ceiling._initiative_id = None
    answer = asgi_call(applications["fast"], "POST", "/bench/ceiling", body=b"x")
    assert answer.status == 201
    row = Statement.objects.get()
    assert len(bytes(row.ciphertext)) == ceiling.CIPHERTEXT_BYTES
    ceiling._initiative_id = None


@pytest.mark.parametrize("query", ["", "scope=statement:clean-air", "scope=statement"])
def test_a_challenge_has_the_same_shape_and_headers_by_either_path(
    asgi_call, applications, ready, query: str
) -> None:
    fast, django = both(asgi_call, applications, "GET", CHALLENGE, query=query)

    assert fast.status == django.status == 200
    fast_body, django_body = json.loads(fast.body), json.loads(django.body)
    assert (
        set(fast_body)
        == set(django_body)
        == {
            "algorithm",
            "challenge",
            "maxnumber",
            "salt",
            "signature",
        }
    )
    assert fast_body["challenge"] != django_body["challenge"]  # each a fresh one
    assert_same_headers(fast, django)
    assert fast.headers["cache-control"] == "no-store"


def test_a_challenge_from_the_fast_path_is_accepted_with_a_statement(
    asgi_call, applications, ready, settings
) -> None:
    from quorum.signing.pow import solve_challenge

    settings.QUORUM_POW = True
    settings.QUORUM_POW_MAX_NUMBER = 1000
    answer = asgi_call(applications["fast"], "GET", CHALLENGE, query="scope=statement:clean-air")
    altcha = solve_challenge(json.loads(answer.body))

    stored = asgi_call(
        applications["fast"], "POST", API, headers=JSON,
        body=json.dumps({**POLISH, "altcha": altcha}).encode(),
    )  # fmt: skip
    assert stored.status == 201, stored.body


@pytest.mark.parametrize("query", ["scope=", "scope=nonsense%00", "scope=" + "x" * 500])
@pytest.mark.parametrize("language", ["en", "de"])
def test_a_bad_challenge_scope_is_the_same_400_by_either_path(
    asgi_call, applications, ready, query: str, language: str
) -> None:
    fast, django = both(
        asgi_call, applications, "GET", CHALLENGE, query=query,
        headers={"accept-language": language},
    )  # fmt: skip

    assert fast.status == django.status == 400
    assert fast.body == django.body
    assert_same_headers(fast, django)


# --- behind reverse proxies -------------------------------------------------------------------

PROXY = ("10.0.0.1", 4711)
OUTSIDER = ("203.0.113.7", 50000)


@pytest.fixture
def behind_proxy(ready, settings, monkeypatch) -> dict[str, Any]:
    """Both doors as served behind a trusted proxy (10.0.0.0/8) that says HTTPS, HSTS on."""
    from django.middleware.security import SecurityMiddleware

    from quorum.core.env import env_networks
    from quorum.fastpath import app as fastpath_app

    settings.QUORUM_TRUSTED_PROXIES = env_networks("P", environ={"P": "10.0.0.0/8"})
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SECURE_HSTS_SECONDS = 3600
    # Django's middleware reads its settings when it is made: make it again under these.
    monkeypatch.setattr(fastpath_app, "_security", SecurityMiddleware(fastpath_app._no_view))
    django = get_asgi_application()
    return {"fast": BodyLimitASGI(FastPath(django)), "django": BodyLimitASGI(django)}


def statement(asgi_call, app, peer, **headers: str):
    body = json.dumps(POLISH).encode()
    return asgi_call(app, "POST", API, headers={**JSON, **headers}, body=body, client=peer)


def test_behind_a_trusted_proxy_each_client_has_its_own_limit_by_either_path(
    asgi_call, behind_proxy, settings
) -> None:
    settings.QUORUM_RATE_BURST = 1
    https = {"x-forwarded-proto": "https"}
    answers = {}
    for door, client, other in [
        ("fast", "198.51.100.7", "198.51.100.8"),
        ("django", "198.51.100.17", "198.51.100.18"),
    ]:
        app = behind_proxy[door]
        # What the client wrote itself is left of the address the proxy appended.
        first = statement(asgi_call, app, PROXY, **{"x-forwarded-for": client}, **https)
        again = statement(
            asgi_call, app, PROXY, **{"x-forwarded-for": f"192.0.2.1, {client}"}, **https
        )
        another = statement(asgi_call, app, PROXY, **{"x-forwarded-for": other}, **https)
        assert [first.status, again.status, another.status] == [201, 429, 201], door
        assert first.headers["strict-transport-security"] == "max-age=3600"
        assert again.headers["strict-transport-security"] == "max-age=3600"
        answers[door] = (first, again)
    fast_first, fast_again = answers["fast"]
    django_first, django_again = answers["django"]
    assert_same_headers(fast_first, django_first)
    assert (fast_again.status, fast_again.body) == (django_again.status, django_again.body)
    assert_same_headers(fast_again, django_again)
    assert Statement.objects.count() == 4


def test_a_client_that_is_no_proxy_cannot_choose_its_address_or_https_by_either_path(
    asgi_call, behind_proxy, settings
) -> None:
    settings.QUORUM_RATE_BURST = 1
    answers = {}
    for door, peer in [("fast", OUTSIDER), ("django", ("203.0.113.8", 50000))]:
        app = behind_proxy[door]
        spoofed = [
            statement(
                asgi_call,
                app,
                peer,
                **{"x-forwarded-for": address, "forwarded": f"for={address}"},
                **{"x-forwarded-proto": "https"},
            )
            for address in ("198.51.100.30", "198.51.100.31")
        ]
        assert [a.status for a in spoofed] == [201, 429], door
        assert all("strict-transport-security" not in a.headers for a in spoofed)
        answers[door] = spoofed
    assert_same_headers(answers["fast"][0], answers["django"][0])
    assert answers["fast"][1].body == answers["django"][1].body
    assert_same_headers(answers["fast"][1], answers["django"][1])


def test_a_lookalike_header_with_underscores_adds_no_hop_by_either_path(
    asgi_call, behind_proxy, settings
) -> None:
    # Were "x_forwarded_for" read as X-Forwarded-For, it would be joined after the proxy's
    # (Django's ASGI request drops header names with underscores).
    settings.QUORUM_RATE_BURST = 1
    for door, client in [("fast", "198.51.100.40"), ("django", "198.51.100.41")]:
        app = behind_proxy[door]
        statuses = [
            statement(
                asgi_call, app, PROXY, **{"x-forwarded-for": client, "x_forwarded_for": spoof}
            ).status
            for spoof in ("192.0.2.66", "192.0.2.67")
        ]
        assert statuses == [201, 429], door


@pytest.mark.parametrize(("peer", "hsts"), [(PROXY, True), (OUTSIDER, False)])
def test_a_challenge_says_https_only_from_a_trusted_proxy_by_either_path(
    asgi_call, behind_proxy, peer, hsts: bool
) -> None:
    fast, django = both(
        asgi_call, behind_proxy, "GET", CHALLENGE, headers={"x-forwarded-proto": "https"},
        client=peer,
    )  # fmt: skip
    assert fast.status == django.status == 200
    assert_same_headers(fast, django)
    assert ("strict-transport-security" in fast.headers) is hsts
