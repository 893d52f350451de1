"""The OpenAPI document and the routes are one declaration: every documented operation is
served by the route it was generated from, every API route is documented, answers go out
through their declared schema (an undeclared field is a 500 in development, dropped
elsewhere), and the document states every input constraint the gateway enforces."""

from __future__ import annotations

import json
import re

import pytest
from marshmallow import Schema
from nameko import config
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from gateway.api.base import UndeclaredResponse, respond
from gateway.api.requests import RequestsApi
from gateway.openapi import component_name, ecma_pattern, openapi_document, routes_of
from gateway.service import GatewayService
from shared import contracts

DOCUMENTED_PREFIXES = ("/api/v1/", "/health", "/ready")
CONVERSATION = {
    "get_request",
    "take_in_charge",
    "reply",
    "close",
    "change_subject",
    "add_followup",
    "add_reminder",
    "reassign_request",
    "explain_recorded_routing",
}


@pytest.fixture(scope="module")
def document() -> dict:
    return openapi_document(GatewayService)


def operations(document):
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            yield path, method, operation


def served() -> set[tuple[str, str]]:
    """(method, url) of every nameko HTTP entrypoint of the gateway."""
    found = set()
    for name in dir(GatewayService):
        for entrypoint in getattr(getattr(GatewayService, name), "nameko_entrypoints", ()):
            if hasattr(entrypoint, "url"):
                found.add((entrypoint.method.upper(), entrypoint.url))
    return found


def to_nameko(path: str) -> str:
    return re.sub(r"\{(\w+)\}", r"<string:\1>", path)


# ---- paths: declared once ------------------------------------------------------------------


def test_every_documented_operation_is_served(document):
    documented = {(method.upper(), to_nameko(path)) for path, method, _ in operations(document)}

    assert documented - served() == set()


def test_every_api_route_is_in_the_document(document):
    documented = {(method.upper(), to_nameko(path)) for path, method, _ in operations(document)}
    api_routes = {(method, url) for method, url in served() if url.startswith(DOCUMENTED_PREFIXES)}

    assert api_routes - documented == set()


def test_operation_ids_are_the_handlers_and_links_reach_real_operations(document):
    ids = [operation["operationId"] for _, _, operation in operations(document)]
    assert len(ids) == len(set(ids))
    assert set(ids) == {route.operation_id for route in routes_of(GatewayService)}
    for path, _, operation in operations(document):
        for response in operation["responses"].values():
            for name, link in response.get("links", {}).items():
                assert link["operationId"] in ids, (path, name)


def test_a_submitted_request_links_to_its_whole_conversation(document):
    created = document["paths"]["/api/v1/requests"]["post"]["responses"]["201"]

    assert {link["operationId"] for link in created["links"].values()} >= CONVERSATION
    assert {link["parameters"]["request_id"] for link in created["links"].values()} == {"$response.body#/id"}
    assert "Location" in created["headers"]


def test_a_booking_links_to_its_detail_its_ics_and_its_cancellation(document):
    created = document["paths"]["/api/v1/appointments"]["post"]["responses"]["201"]

    assert {link["operationId"] for link in created["links"].values()} == {
        "get_appointment",
        "appointment_ics",
        "cancel_appointment",
    }
    assert {link["parameters"]["booking_id"] for link in created["links"].values()} == {"$response.body#/id"}
    assert "Location" in created["headers"]


def test_a_booking_s_conflicts_are_listed(document):
    book = document["paths"]["/api/v1/appointments"]["post"]["responses"]
    ics = document["paths"]["/api/v1/appointments/{booking_id}/ics"]["get"]["responses"]["200"]

    assert {"slot_taken", "duplicate_booking", "booking_not_allowed"} <= set(book["409"]["x-business-rules"])
    assert "motivazione_required" in book["422"]["x-business-rules"]
    assert set(ics["content"]) == {"text/calendar"}


def test_agenda_query_strings_use_the_names_of_the_api(document):
    def names(path):
        return {p["name"] for p in document["paths"][path]["get"]["parameters"]}

    assert names("/api/v1/agenda/availability") == {"punto", "from", "to", "modality", "topic"}
    assert names("/api/v1/agenda/day") == {"punto", "date", "days"}
    assert {"date", "codice_fiscale", "page", "page_size"} <= names("/api/v1/appointments")


# ---- inputs: every constraint the gateway enforces is in the document ----------------------


def input_schemas(document):
    """The component schemas reachable from request bodies and parameters."""
    names, pending = set(), []
    for _, _, operation in operations(document):
        for media in operation.get("requestBody", {}).get("content", {}).values():
            pending.append(media["schema"])
    while pending:
        schema = pending.pop()
        text = json.dumps(schema)
        for name in re.findall(r'"#/components/schemas/(\w+)"', text):
            if name not in names:
                names.add(name)
                pending.append(document["components"]["schemas"][name])
    return names


def test_inputs_refuse_what_they_do_not_declare(document):
    names = input_schemas(document)

    assert {"RequestSubmission", "CitizenInput", "Reassignment", "AttachmentUpload"} <= names
    for name in names:
        assert document["components"]["schemas"][name]["additionalProperties"] is False, name


def test_the_upload_is_a_form_with_one_file(document):
    body = document["paths"]["/api/v1/attachments"]["post"]["requestBody"]["content"]
    schema = document["components"]["schemas"]["AttachmentUpload"]

    assert list(body) == ["multipart/form-data"]
    assert schema["properties"] == {
        "file": {**schema["properties"]["file"], "type": "string", "format": "binary"}
    }
    assert schema["required"] == ["file"]


def test_the_sede_code_and_the_reason_of_a_reassignment(document):
    schema = document["components"]["schemas"]["Reassignment"]["properties"]

    assert schema["sede"]["pattern"] == "^[0-9]{4}$"
    assert schema["reason"]["minLength"] == 3


def test_patterns_are_ecma_and_mean_what_the_gateway_checks(document):
    patterns = re.findall(r'"pattern": ("(?:[^"\\]|\\.)*")', json.dumps(document))

    assert patterns
    for pattern in map(json.loads, patterns):
        assert "\\Z" not in pattern and pattern.startswith("^"), pattern
    assert ecma_pattern(r"[0-9]{10}\Z") == "^[0-9]{10}$"
    assert ecma_pattern(r"a|b\Z") == "^(?:a|b$)"


def test_query_parameters_are_never_null(document):
    for path, _, operation in operations(document):
        for parameter in operation.get("parameters", ()):
            assert "nullable" not in parameter["schema"], (path, parameter["name"])
            assert None not in parameter["schema"].get("enum", ()), (path, parameter["name"])


def test_business_rules_are_listed_with_their_status(document):
    submit = document["paths"]["/api/v1/requests"]["post"]["responses"]["422"]
    followup = document["paths"]["/api/v1/requests/{request_id}/followups"]["post"]["responses"]["409"]

    assert {"unknown_cap", "unknown_subject"} <= set(submit["x-business-rules"])
    assert {"no_answer_yet", "followups_exhausted"} <= set(followup["x-business-rules"])


def test_sede_types_are_routing_s():
    # routing reads its input with these schemas; the sede types are its reference model's
    from services.routing.reference.model import SEDE_TYPES

    assert tuple(contracts.SEDE_TYPES) == tuple(SEDE_TYPES)


# ---- outputs: what a route answers is what the document declares ---------------------------


def detail(**extra) -> dict:
    return {
        "id": "8d1388ca-05a2-4ea0-ab91-84c31b8bc418",
        "protocol": "COMBID.2026.00000001",
        "origin": "patronato",
        "channel": "combipat",
        "profile": "operatore_generico",
        "subject": {
            "code": "requisiti_accesso",
            "label": "Requisiti",
            "catalog_version": "v",
            "sla_days": 10,
        },
        "state": "open",
        "matricola": None,
        "consulente": None,
        "citizen_codice_fiscale": "RSSMRA85T10A562S",
        "assigned_sede": None,
        "submitted_at": "2026-03-01T10:00:00+00:00",
        "updated_at": "2026-03-01T10:00:00+00:00",
        "closed_at": None,
        "text": "Testo",
        "case_identifier": None,
        "citizen": {"codice_fiscale": "RSSMRA85T10A562S", "cap": "00184"},
        "patronato": {"ente": "001", "ufficio": "0001"},
        "parent_id": None,
        "assignment": None,
        "outcome": None,
        "booking_enabled": False,
        "thread": [],
        "state_history": [],
        "attachments": [],
        "next_actions": {
            "followups_left": 2,
            "can_follow_up": False,
            "can_remind": False,
            "reminder_allowed_from": "2026-03-16",
        },
        **extra,
    }


class FakeServices(RequestsApi):
    """The requests endpoints with the services answering ``answers[method]``."""

    def __init__(self, answers):
        self.answers = answers

    def _caller(self, request):
        return None

    def _call(self, service, method, *args, timeout=None):
        return self.answers[method]


def get(path: str) -> Request:
    return Request(EnvironBuilder(method="GET", path=path).get_environ())


BOOKING = {"allowed": False, "reason_code": "waiting_for_answer", "reason": "Attendere."}


def test_the_detail_goes_out_through_its_schema():
    api = FakeServices({"get_request": detail(), "eligibility": BOOKING})

    with config.patch({"COMBID_ENV": "development"}):
        response = api.get_request(get("/api/v1/requests/x"), request_id="x")

    assert response.status_code == 200
    assert json.loads(response.get_data()) == {**detail(), "booking": BOOKING}


def test_a_field_the_document_does_not_declare_is_a_500_in_development():
    api = FakeServices({"get_request": detail(internal_note="riservato"), "eligibility": BOOKING})

    with config.patch({"COMBID_ENV": "development"}), pytest.raises(UndeclaredResponse) as raised:
        api.get_request(get("/api/v1/requests/x"), request_id="x")
    assert "internal_note: undeclared" in str(raised.value)


def test_elsewhere_an_undeclared_field_is_dropped(caplog):
    api = FakeServices(
        {
            "get_request": detail(internal_note="riservato", thread=[{"id": "m", "kind": "answer", "x": 1}]),
            "eligibility": BOOKING,
        }
    )

    with config.patch({"COMBID_ENV": "production"}):
        response = api.get_request(get("/api/v1/requests/x"), request_id="x")

    body = json.loads(response.get_data())
    assert "internal_note" not in body and body["thread"] == [{"id": "m", "kind": "answer"}]
    assert "internal_note: undeclared" in caplog.text and "thread[0].x: undeclared" in caplog.text


def test_a_null_the_document_does_not_allow_is_caught_too():
    with (
        config.patch({"RESPONSE_CONTRACT": "strict"}),
        pytest.raises(UndeclaredResponse, match="state: null"),
    ):
        respond(contracts.StateResult, {"id": "x", "state": None})


def test_every_output_schema_is_in_the_document(document):
    outputs = {
        component_name(route.output)
        for route in routes_of(GatewayService)
        if isinstance(route.output, type) and issubclass(route.output, Schema)
    }

    assert outputs <= set(document["components"]["schemas"])
    for name in outputs:
        assert document["components"]["schemas"][name]["additionalProperties"] is False, name


@pytest.fixture
def hypothesis_home(tmp_path):
    """Hypothesis keeps its caches out of the work tree."""
    from hypothesis import configuration

    configuration.set_hypothesis_home_dir(str(tmp_path / "hypothesis"))
    yield
    configuration.set_hypothesis_home_dir(None)


def test_a_field_s_specific_pattern_also_refuses_control_characters(hypothesis_home):
    """The document shows one pattern per field: where a field has a shape (digits, letters)
    and the no-control pattern, the shape must refuse control characters by itself."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    specific = set()
    for schema_cls in vars(contracts).values():
        if isinstance(schema_cls, type) and issubclass(schema_cls, contracts.StrictSchema):
            for field in schema_cls().fields.values():
                patterns = [v.regex.pattern for v in field.validators if hasattr(v, "regex")]
                if len(patterns) > 1:
                    specific |= set(patterns) - contracts.NO_CONTROL_PATTERNS
    assert specific

    @settings(max_examples=60, suppress_health_check=list(HealthCheck), database=None)
    @given(st.sampled_from(sorted(specific)).flatmap(lambda p: st.tuples(st.just(p), st.from_regex(p))))
    def matches_no_control_character(drawn):
        pattern, value = drawn
        assert re.match(pattern, value) is None or not re.search(r"[\x00-\x1f\x7f]", value), pattern

    matches_no_control_character()
