"""The API keeps its documented contract: JSON bodies only, HEAD on every read, true media types.

Every error, whoever raises it (ninja, Django, the body limit), is ``{"errors": …}`` JSON.
"""

from __future__ import annotations

import json
import re

import pytest
from django.test import Client
from jsonschema import Draft202012Validator

from quorum.ledger.models import Statement
from quorum.ledger.sequencer import sequence_all

pytestmark = pytest.mark.django_db(transaction=True)

STATEMENTS = "/api/v1/initiatives/clean-air/statements"
# Values for the parameters of every GET operation (unknown ones get "1").
PARAMETERS = {
    "slug": "clean-air",
    "receipt": "0" * 64,
    "size": "1",
    "from": "0",
    "to": "0",
    "start": "0",
    "end": "1",
    "scope": "statement:clean-air",
    "q": "air",
    "status": "collecting",
    "interval": "hour",
    "format": "json",
}


@pytest.fixture
def ready(collecting_initiative, authority_keys, settings):
    settings.QUORUM_POW = False
    settings.QUORUM_RATE_BURST = 10**6
    settings.QUORUM_RATE_SUSTAINED = 10**6


@pytest.fixture
def openapi(client) -> dict:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.json()


def assert_errors_shape(response, status: int) -> dict:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    errors = json.loads(response.content)["errors"]
    assert errors and all(isinstance(m, str) and m for ms in errors.values() for m in ms)
    return errors


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "text/plain; charset=utf-8",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/json; charset=utf-16",
        "application/json; charset=utf-8; x=y",
        "application/jsonp",
        "",
    ],
)
def test_a_statement_in_anything_but_json_is_refused_with_415_before_it_is_read(
    client, ready, polish_citizen, content_type
) -> None:
    response = client.generic("POST", STATEMENTS, json.dumps(polish_citizen), content_type)
    errors = assert_errors_shape(response, 415)
    assert list(errors) == ["__all__"]
    assert Statement.objects.count() == 0


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "application/json; charset=utf-8", "Application/JSON; Charset=UTF-8"],
)
def test_a_statement_in_json_is_accepted(client, ready, polish_citizen, content_type) -> None:
    response = client.generic("POST", STATEMENTS, json.dumps(polish_citizen), content_type)
    assert response.status_code == 201, response.content
    assert Statement.objects.count() == 1


def test_the_openapi_document_says_which_bodies_are_refused(openapi) -> None:
    operation = openapi["paths"]["/api/v1/initiatives/{slug}/statements"]["post"]
    assert list(operation["requestBody"]["content"]) == ["application/json"]
    assert {"413", "415"} <= set(operation["responses"])
    assert "application/json" in operation["description"]
    assert "415" in operation["description"]


def test_an_unknown_api_path_answers_404_in_the_errors_shape(client) -> None:
    assert_errors_shape(client.get("/api/v1/initiatives/clean-air/nothing-here"), 404)
    assert_errors_shape(client.get("/api/v2/initiatives"), 404)


def test_a_wrong_method_answers_405_in_the_errors_shape_with_the_allowed_methods(
    client, ready
) -> None:
    response = client.delete("/api/v1/initiatives")
    assert_errors_shape(response, 405)
    assert {m.strip() for m in response["Allow"].split(",")} == {"GET", "HEAD"}
    response = client.get(STATEMENTS)
    assert_errors_shape(response, 405)
    assert response["Allow"] == "POST"


def test_an_oversized_body_answers_413_in_the_errors_shape(client, ready) -> None:
    response = client.post(STATEMENTS, "[" + "0," * 10_000 + "0]", content_type="application/json")
    assert_errors_shape(response, 413)


def _filled(path: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: PARAMETERS.get(m.group(1), "1"), path)


def _query(operation: dict) -> dict[str, str]:
    return {
        p["name"]: PARAMETERS.get(p["name"], "1")
        for p in operation.get("parameters", [])
        if p["in"] == "query"
    }


def test_head_answers_every_get_operation_of_the_openapi_document_like_get_without_a_body(
    client, ready, openapi
) -> None:
    sequence_all()  # a checkpoint, so the log reads answer 200
    operations = [
        (path, operation)
        for path, methods in openapi["paths"].items()
        for method, operation in methods.items()
        if method == "get"
    ]
    assert len(operations) >= 10
    for path, operation in operations:
        url, query = _filled(path), _query(operation)
        get = client.get(url, query)
        head = client.head(url, query)
        assert head.status_code != 405, path
        assert head.status_code == get.status_code, path
        assert head.content == b"", path
        for name in ("Content-Type", "Cache-Control", "Access-Control-Allow-Origin"):
            assert head.get(name) == get.get(name), (path, name)
        if "Content-Length" in head:
            assert head["Content-Length"] == str(len(get.content)), path


@pytest.mark.parametrize("path", ["/api/v1/initiatives/{slug}/checkpoint", "/api/v1/log-key"])
def test_the_text_endpoints_are_documented_with_the_media_type_they_serve(
    client, ready, openapi, path
) -> None:
    sequence_all()
    documented = openapi["paths"][path]["get"]["responses"]
    assert set(documented["200"]["content"]) == {"text/plain"}
    response = client.get(_filled(path))
    assert response.status_code == 200
    assert response["Content-Type"].split(";")[0] == "text/plain"
    assert response.content.decode().endswith("\n")
    if "404" in documented:
        missing = client.get(path.replace("{slug}", "no-such-initiative"))
        assert missing.status_code == 404
        assert set(documented["404"]["content"]) == {missing["Content-Type"].split(";")[0]}


def test_every_documented_response_of_every_read_names_the_media_type_served(
    client, ready, openapi
) -> None:
    sequence_all()
    for path, methods in openapi["paths"].items():
        operation = methods.get("get")
        if operation is None:
            continue
        response = client.get(_filled(path), _query(operation))
        documented = operation["responses"].get(str(response.status_code))
        assert documented is not None, (path, response.status_code)
        served = response["Content-Type"].split(";")[0]
        assert served in documented.get("content", {}), (path, served, documented)


def test_reads_stay_open_to_other_origins_and_writes_need_json(client, ready) -> None:
    # A page on another site can send text/plain without a preflight; it must not count.
    response = Client().post(
        STATEMENTS,
        json.dumps({"nationality": "PL"}),
        content_type="text/plain",
        HTTP_ORIGIN="https://evil.example",
    )
    assert response.status_code == 415
    assert client.get("/api/v1/initiatives")["Access-Control-Allow-Origin"] == "*"


def _validator(openapi: dict, schema: dict) -> Draft202012Validator:
    # The document's own components, so that "#/components/schemas/…" resolves as in the document.
    return Draft202012Validator({**schema, "components": openapi["components"]})


def assert_answers_as_documented(openapi: dict, path: str, method: str, response) -> None:
    """The status is one the operation documents, and a JSON body fits the documented schema."""
    documented = openapi["paths"][path][method]["responses"].get(str(response.status_code))
    assert documented is not None, (path, response.status_code, response.content[:200])
    content = documented.get("content", {}).get("application/json")
    if content is None:
        return
    errors = sorted(
        _validator(openapi, content["schema"]).iter_errors(json.loads(response.content)),
        key=str,
    )
    assert not errors, (path, response.status_code, [e.message for e in errors[:3]])


def test_every_read_answers_what_its_openapi_schema_says_for_success_and_refusal(
    client, ready, openapi, polish_citizen
) -> None:
    assert (
        client.post(STATEMENTS, polish_citizen, content_type="application/json").status_code == 201
    )
    sequence_all()
    checked = 0
    for path, methods in openapi["paths"].items():
        operation = methods.get("get")
        if operation is None:
            continue
        query = _query(operation)
        cases = [(_filled(path), query)]
        if "{slug}" in path:
            cases.append((path.replace("{slug}", "no-such-initiative"), query))
        cases += [(_filled(path), {**query, name: "x"}) for name in query]
        for url, params in cases:
            assert_answers_as_documented(openapi, path, "get", client.get(url, params))
            checked += 1
    assert checked >= 30


@pytest.mark.parametrize(
    "body",
    [
        "polish",
        {"nationality": "PL"},
        {"nationality": "XX", "first_names": "A"},
        {"unknown": 1},
        [],
    ],
    ids=["valid", "missing fields", "unknown state", "unknown field", "not an object"],
)
def test_every_answer_to_a_statement_is_what_the_openapi_document_says(
    client, ready, openapi, polish_citizen, body
) -> None:
    payload = polish_citizen if body == "polish" else body
    response = client.post(STATEMENTS, json.dumps(payload), content_type="application/json")
    assert_answers_as_documented(openapi, "/api/v1/initiatives/{slug}/statements", "post", response)
