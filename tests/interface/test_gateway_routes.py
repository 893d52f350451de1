"""Every route of the gateway over HTTP, the services' RPC replaced: which RPC each route
calls with which arguments, what reaches the client when the service answers, and how each
error of the service is answered (its problem document, with its status and code).

The routes are read from the gateway service class: a route added later without a case here
fails ``test_every_declared_route_has_a_case``.
"""

from __future__ import annotations

import base64
import copy
from dataclasses import dataclass, field
from typing import Any

import eventlet
import pytest
from kombu.exceptions import OperationalError
from nameko import config
from nameko.exceptions import RemoteError

from gateway.rpc import RepliesLost
from shared.access import Caller
from shared.errors import Conflict, Forbidden, InvalidInput, NotFound, ProblemError, Unavailable, field_error
from tests.interface.helpers import assert_problem, bearer, declared_routes

REQUEST_ID = "3f2b8c1e-9a4d-4e6b-8c2f-1a2b3c4d5e6f"
ATTACHMENT_ID = "9b1d2e3f-4a5b-4c6d-8e7f-0a1b2c3d4e5f"
OPERATOR = "op-42"
CORRELATION_ID = "portale-0001"  # sent as X-Request-ID with every request: it travels to the service
PDF = b"%PDF-1.4\nprova\n"

PATRONATO = dict(sub="op-1", role="patronato_operatore", patronato="001", ufficio="0001", name="Ada")
OFFICIAL = dict(sub="off-1", role="sede_operatore", sede="0704", groups=["APP_FEA_COMBID"])
PATRONATO_ADMIN = dict(sub="padm-1", role="patronato_admin", patronato="001")


def claims(caller: dict) -> dict:
    """What a service receives for this caller: the typed Caller, as plain claims."""
    return Caller.from_claims(caller).as_claims()


# ---- the services' replies, shaped as the services answer ----------------------------------

SUBJECT = {
    "code": "sollecito_domanda",
    "label": "Sollecito definizione domanda",
    "channel": "combipat",
    "profiles": ["operatore_generico"],
    "catalog_version": "2021.1",
    "identifier_required": True,
    "identifier_kinds": ["protocollo"],
    "sla_days": 15,
    "sla_days_source": "default",
    "source": "messaggio INPS n. 3813/2021",
    "area": "prestazioni",
    "cric_sections": [],
    "channel_rules": {
        "followups_after_first_answer": 2,
        "reminder_after_days": 15,
        "source": "msg 3813/2021",
    },
}
SUBMISSION = {
    "subject": "sollecito_domanda",
    "text": "Si sollecita la definizione della domanda di pensione.",
    "case_identifier": {"kind": "protocollo", "value": "INPS.7000.15/03/2026.0012345"},
    "citizen": {"codice_fiscale": "RSSMRA85T10A562S", "cap": "00184"},
    "attachments": [ATTACHMENT_ID],
    "contacts": {"email": "operatore@patronato.example"},
}
ASSIGNMENT = {"kind": "sede", "code": "0704", "name": "Roma Tuscolano", "reason": "CAP 00184 → sede 0704"}
SUMMARY = {
    "id": REQUEST_ID,
    "protocol": "COMBID.2026.00000001",
    "origin": "patronato",
    "channel": "combipat",
    "profile": "operatore_generico",
    "subject": {
        "code": "sollecito_domanda",
        "label": "Sollecito definizione domanda",
        "catalog_version": "2021.1",
        "sla_days": 15,
    },
    "state": "open",
    "matricola": None,
    "consulente": None,
    "citizen_codice_fiscale": "RSSMRA85T10A562S",
    "assigned_sede": "0704",
    "submitted_at": "2026-03-16T09:30:00+00:00",
    "updated_at": "2026-03-16T09:30:01+00:00",
    "closed_at": None,
}
DETAIL = {
    **SUMMARY,
    "text": SUBMISSION["text"],
    "case_identifier": SUBMISSION["case_identifier"],
    "citizen": SUBMISSION["citizen"],
    "patronato": {"ente": "001", "ufficio": "0001"},
    "parent_id": None,
    "parent": None,
    "chained": [],
    "assignment": ASSIGNMENT,
    "outcome": None,
    "booking_enabled": False,
    "thread": [],
    "state_history": [
        {
            "from_state": None,
            "to_state": "open",
            "step": "submitted",
            "comment": None,
            "subject_change": None,
            "actor": "op-1",
            "at": "2026-03-16T09:30:00+00:00",
        }
    ],
    "attachments": [
        {
            "id": ATTACHMENT_ID,
            "filename": "domanda.pdf",
            "content_type": "application/pdf",
            "size": len(PDF),
            "download_url": f"/api/v1/requests/{REQUEST_ID}/attachments/{ATTACHMENT_ID}",
        }
    ],
    "next_actions": {
        "followups_left": 2,
        "can_follow_up": False,
        "can_remind": False,
        "reminder_allowed_from": "2026-03-31",
    },
}
ELIGIBILITY = {
    "request_id": REQUEST_ID,
    "allowed": False,
    "reason_code": "too_early",
    "reason": "La prenotazione sarà possibile dopo 15 giorni senza risposta.",
}
EXPLAIN_QUERY = {
    "channel": "combipat",
    "profile": "operatore_generico",
    "subject": "sollecito_domanda",
    "cap": "00184",
}
RULE_CHAIN = [
    {"rule": "referente_regionale_cric", "outcome": "not_applicable", "code": "", "detail": "non referente"},
    {"rule": "operatore_generico_cap", "outcome": "matched", "code": "0704", "detail": "CAP 00184"},
]
DECISION = {
    "dry_run": True,
    "rule": "operatore_generico_cap",
    "assignment": {**ASSIGNMENT, "queue": "sede.0704"},
    "inputs": {"cap": "00184"},
    "reference_version": "2026-03-01.1",
    "effective_day": "2026-03-16",
    "request": {"channel": "combipat", "profile": "operatore_generico", "subject": "sollecito_domanda"},
    "rule_chain": RULE_CHAIN,
}
RECORDED = {
    "id": "5d6e7f80-1a2b-4c3d-9e8f-112233445566",
    "request_id": REQUEST_ID,
    "sequence": 1,
    "trigger": "request_submitted",
    "rule": "operatore_generico_cap",
    "assignment": {**ASSIGNMENT, "queue": "sede.0704"},
    "inputs": {"cap": "00184"},
    "reference_version": "2026-03-01.1",
    "decided_at": "2026-03-16T09:30:02+00:00",
    "effective_day": "2026-03-16",
    "request": DECISION["request"],
    "rule_chain": RULE_CHAIN,
    "previous": None,
    "emitted": True,
}
HISTORY = {
    "request_id": REQUEST_ID,
    "current": {**RECORDED, "replay": None},
    "history": [{**RECORDED, "replay": None}],
}
REASSIGNMENT = {"sede": "0703", "reason": "Il cittadino risiede a Rieti"}
REASSIGNED = {
    **RECORDED,
    "sequence": 2,
    "trigger": "manual",
    "rule": "manual",
    "assignment": {"kind": "sede", "code": "0703", "name": "Rieti", "reason": REASSIGNMENT["reason"]},
    "previous": RECORDED["assignment"],
}
SEDI = {
    "reference_version": "2026-03-01.1",
    "on": "2026-03-16",
    "sedi": [
        {
            "valid_from": "2020-01-01",
            "valid_to": None,
            "code": "0704",
            "name": "Roma Tuscolano",
            "type": "agenzia_complessa",
            "parent_code": "0700",
            "region": "Lazio",
            "province": "RM",
            "email": None,
            "province_wide": False,
            "comuni": ["H501"],
        }
    ],
    "cric": [
        {
            "valid_from": "2020-01-01",
            "valid_to": None,
            "code": "9012",
            "name": "CRIC Lazio",
            "region": "Lazio",
            "parent_code": "0700",
            "email": None,
        }
    ],
}
VERSIONS = {
    "active": "2026-03-01.1",
    "versions": [{"id": "2026-03-01.1", "loaded_at": "2026-03-01T06:00:00+00:00", "source": "sample"}],
}
OUTBOUND = {
    "recipient": {"kind": "azienda", "matricola": "7012345678"},
    "subject": "Avviso",
    "text": "Si comunica che la pratica è stata definita.",
}

# ---- agenda ----------------------------------------------------------------------------------
BOOKING_ID = "7c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f"
PUNTO = {
    "punto_id": "0704-SEDE",
    "sede": "0704",
    "region": "Lazio",
    "kind": "sede",
    "name": "Roma Tuscolano",
    "address": "Via Tuscolana 1, Roma",
    "comune": "Roma",
    "modalities": ["in_person", "web_meeting"],
    "topics": ["pensioni"],
    "weekly": "mon=09:00-12:30",
    "slot_minutes": 30,
    "patron_day": "06-29",
    "exceptions": [
        {
            "id": "8d9e0f10-1a2b-4c3d-9e8f-aabbccddeeff",
            "day": "2026-04-03",
            "kind": "closed",
            "hours": None,
            "reason": "Chiusura",
        }
    ],
}
AVAILABILITY = {
    "punto": PUNTO,
    "from": "2026-03-16",
    "to": "2026-03-20",
    "slot_minutes": 30,
    "slots": [{"start": "2026-03-16T08:00:00+00:00", "end": "2026-03-16T08:30:00+00:00"}],
}
BOOKING = {
    "request_id": REQUEST_ID,
    "punto_id": "0704-SEDE",
    "slot_start": "2026-03-16T08:00:00+00:00",
    "modality": "web_meeting",
    "topic": "pensioni",
    "codici_fiscali": ["RSSMRA85T10A562S"],
    "contact": {"email": "operatore@patronato.example"},
    "motivazione": "Chiarimenti sulla pensione",
}
APPOINTMENT_SUMMARY = {
    "id": BOOKING_ID,
    "punto_id": "0704-SEDE",
    "punto_name": "Roma Tuscolano",
    "sede": "0704",
    "slot_start": "2026-03-16T08:00:00+00:00",
    "slot_end": "2026-03-16T08:30:00+00:00",
    "modality": "web_meeting",
    "topic": "pensioni",
    "state": "confirmed",
    "codici_fiscali": ["RSSMRA85T10A562S"],
    "request_id": REQUEST_ID,
}
APPOINTMENT = {
    **APPOINTMENT_SUMMARY,
    "punto_address": "Via Tuscolana 1, Roma",
    "region": "Lazio",
    "booked_by": "op-1",
    "booked_by_role": "patronato_operatore",
    "booked_by_name": "Ada",
    "matricola": None,
    "motivazione": "Chiarimenti sulla pensione",
    "contact": {"email": "operatore@patronato.example", "phone": None},
    "attachments": [],
    "room_url": "https://meet.example/room/abc",
    "rescheduled_from": None,
    "created_at": "2026-03-15T10:00:00+00:00",
    "cancelled_at": None,
    "cancel_reason": None,
    "outcome_at": None,
    "outcome_note": None,
}
CANCELLED = {
    **APPOINTMENT,
    "state": "cancelled_by_office",
    "cancelled_at": "2026-03-15T11:00:00+00:00",
    "cancel_reason": "Sede chiusa",
}
ICS = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n"
DAY_VIEW = {
    "punto_id": "0704-SEDE",
    "name": "Roma Tuscolano",
    "days": [
        {
            "day": "2026-03-16",
            "holiday": None,
            "slots": [
                {
                    "start": "2026-03-16T08:00:00+00:00",
                    "end": "2026-03-16T08:30:00+00:00",
                    "offered": True,
                    "bookings": [
                        {
                            **APPOINTMENT_SUMMARY,
                            "booked_by_name": "Ada",
                            "motivazione": "Chiarimenti sulla pensione",
                            "contact": {"email": None, "phone": "+390612345"},
                        }
                    ],
                }
            ],
        }
    ],
}


NOTIFICATION_ID = "5d6e7f80-1a2b-4c3d-8e9f-0a1b2c3d4e5f"
NOTIFICATION = {
    "id": NOTIFICATION_ID,
    "kind": "request_routed",
    "kind_label": "Richiesta inoltrata alla sede",
    "title": "Richiesta n. COMBID.2026.00000001 inoltrata alla sede",
    "text": "INPS: la richiesta n. COMBID.2026.00000001 è stata inoltrata a Roma Tuscolano.",
    "request_id": REQUEST_ID,
    "booking_id": None,
    "protocol": "COMBID.2026.00000001",
    "created_at": "2026-03-16T08:00:05+00:00",
    "read": False,
    "read_at": None,
}
PREFERENCES = {
    "preferences": [
        {
            "kind": "request_routed",
            "label": "Richiesta inoltrata alla sede",
            "channels": ["email", "sms"],
            "email": True,
            "sms": False,
        }
    ]
}
PREFERENCES_INPUT = {"preferences": [{"kind": "request_routed", "email": True, "sms": False}]}
DELIVERIES = [
    {
        "id": "6e7f8091-2b3c-4d5e-9f0a-1b2c3d4e5f60",
        "request_id": REQUEST_ID,
        "event_id": "7f8091a2-3c4d-4e5f-8a1b-2c3d4e5f6071",
        "channel": "email",
        "recipient": "operatore@patronato.example",
        "template": "protocol_registered",
        "subject_line": "Richiesta protocollata n. COMBID.2026.00000001",
        "status": "sent",
        "error": None,
        "created_at": "2026-03-16T08:00:00+00:00",
        "sent_at": "2026-03-16T08:00:01+00:00",
        "attempts": 1,
    }
]
# ---- Cruscotto -------------------------------------------------------------------------------
REGIONAL_DIRECTOR = dict(sub="dir-1", role="direttore", regione="Lazio")
FIGURES = {
    "submitted": 10,
    "open": 3,
    "closed": 7,
    "closed_within_sla": 6,
    "closed_late": 1,
    "open_past_sla": 1,
    "threshold_indicator": 0.75,
    "backlog_index": 0.6667,
    "average_closing_days": 4.5,
}
LAZIO = {"level": "region", "code": "Lazio", "name": "Lazio", "region": None}
MARCH = {"first_day": "2026-03-01", "last_day": "2026-03-31"}
INDICATORS = {
    "view": LAZIO,
    "period": MARCH,
    "as_of": "2026-04-20",
    "totals": FIGURES,
    "subjects": [{"subject": "f24", "sla_days": 10, **FIGURES}],
    "origins": [{"origin": "cassetto", **FIGURES}],
    "children": [{"level": "sede", "code": "0704", "name": "Roma Tuscolano", **FIGURES}],
    "apart": None,
}
BACKLOG_FIGURES = {"open": 3, "open_within_sla": 2, "open_past_sla": 1, "backlog_index": 0.6667}
BACKLOG = {
    "view": LAZIO,
    "as_of": "2026-04-20",
    "totals": BACKLOG_FIGURES,
    "due": [{"due_day": "2026-04-25", "open": 2}],
    "subjects": [{"subject": "f24", "sla_days": 10, **BACKLOG_FIGURES}],
    "children": [{"level": "sede", "code": "0704", "name": "Roma Tuscolano", **BACKLOG_FIGURES}],
}
TREND = {"view": LAZIO, "period": MARCH, "as_of": "2026-04-20", "months": [{"month": "2026-03", **FIGURES}]}
SUBJECT_CHANGES = {
    "view": LAZIO,
    "period": MARCH,
    "total": 2,
    "transitions": [{"from_subject": "f24", "to_subject": "dm_uniemens", "changes": 2}],
    "by_sede": [
        {
            "sede": "0704",
            "name": "Roma Tuscolano",
            "region": "Lazio",
            "from_subject": "f24",
            "to_subject": "dm_uniemens",
            "changes": 2,
        }
    ],
}
DASHBOARD_REQUESTS = {
    "view": {"level": "sede", "code": "0704", "name": "Roma Tuscolano", "region": "Lazio"},
    "items": [
        {
            "request_id": REQUEST_ID,
            "protocol": "COMBID.2026.00000001",
            "subject": "f24",
            "sla_days": 10,
            "origin": "cassetto",
            "sede": "0704",
            "sede_name": "Roma Tuscolano",
            "region": "Lazio",
            "state": "closed",
            "submitted_at": "2026-03-02T08:00:00+00:00",
            "closed_at": "2026-03-20T08:00:00+00:00",
            "due_day": "2026-03-12",
            "days": 18,
            "within_sla": False,
        }
    ],
    "total": 1,
    "page": 1,
    "page_size": 50,
}
REPORT_ID = "5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b"
REPORT = {
    "id": REPORT_ID,
    "region": "Lazio",
    "month": "2026-03",
    "published_at": "2026-04-26T06:00:00+00:00",
    "files": [
        {"format": fmt, "filename": f"cruscotto-lazio-2026-03.{fmt}", "content_type": "x", "size": 10}
        for fmt in ("pdf", "csv", "xlsx")
    ],
}
PERIOD_QUERY = {"level": "region", "code": "Lazio", "from": "2026-03-01", "to": "2026-03-31"}
CARE_FIGURES = {
    "booked": 12,
    "due": 9,
    "held": 6,
    "no_show": 2,
    "cancelled_by_requester": 2,
    "cancelled_by_office": 1,
    "awaiting_outcome": 0,
    "upcoming": 1,
    "held_share": 0.6667,
    "no_show_rate": 0.25,
    "days_known": 12,
    "days_to_appointment_average": 6.5,
    "days_to_appointment_median": 6.0,
    "days_to_appointment_p90": 11.9,
}
CUSTOMER_CARE = {
    "view": LAZIO,
    "period": MARCH,
    "as_of": "2026-04-20",
    "totals": CARE_FIGURES,
    "modalities": [{"modality": "phone", **CARE_FIGURES}],
    "children": [{"level": "sede", "code": "0704", "name": "Roma Tuscolano", **CARE_FIGURES}],
}


@dataclass
class Case:
    """One route: who calls it with what, the RPC it must make and the service's reply."""

    caller: dict
    rpc: tuple[str, str]  # (service, method)
    args: tuple  # the RPC's arguments after the caller
    reply: Any
    status: int = 200
    path: dict = field(default_factory=dict)  # values of the route's placeholders
    request: dict = field(default_factory=dict)  # json=, params=, files=
    body: Any = None  # what the client gets, if not the reply itself
    headers: dict = field(default_factory=dict)
    others: dict = field(default_factory=dict)  # further RPCs: (service, method) -> (args, reply)


def step(method: str, caller: dict, body: dict, reply: dict) -> Case:
    """A step of the conversation: the body and the correlation id go to intake as given."""
    return Case(
        caller,
        ("intake", method),
        (REQUEST_ID, body, CORRELATION_ID),
        reply,
        path={"request_id": REQUEST_ID},
        request={"json": body},
    )


CRM_CONVERSATIONS = {
    "codice_fiscale": "RSSMRA85T10A562S",
    "total": 1,
    "items": [
        {
            "protocol": "COMBID.2026.00000001",
            "origin": "patronato",
            "channel": "combipat",
            "subject": {"code": "sollecito_domanda", "label": "Sollecito domanda già presentata"},
            "state": "open",
            "sede": "0704",
            "region": "Lazio",
            "submitted_at": "2026-03-16T09:30:00+00:00",
            "updated_at": "2026-03-16T09:30:00+00:00",
            "closed_at": None,
        }
    ],
}
CRM_AUDIT = {
    "items": [
        {
            "at": "2026-03-16T09:30:00+00:00",
            "actor": "off-1",
            "actor_role": "sede_operatore",
            "actor_sede": "0704",
            "subject_kind": "codice_fiscale",
            "subject_value": "RSSMRA85T10A562S",
            "results": 1,
        }
    ],
    "page": 1,
    "page_size": 50,
    "total": 1,
}

CASES = {
    ("GET", "/api/v1/crm/conversations"): Case(
        OFFICIAL,
        ("intake", "crm_conversations"),
        ({"codice_fiscale": "RSSMRA85T10A562S"},),
        CRM_CONVERSATIONS,
        request={"params": {"codice_fiscale": "RSSMRA85T10A562S"}},
    ),
    ("GET", "/api/v1/crm/audit"): Case(
        {"sub": "adm-1", "role": "admin"},
        ("intake", "crm_audit"),
        ({"actor": "off-1"},),
        CRM_AUDIT,
        request={"params": {"actor": "off-1"}},
    ),
    ("GET", "/api/v1/subjects"): Case(PATRONATO, ("intake", "list_subjects"), (), [SUBJECT]),
    ("POST", "/api/v1/attachments"): Case(
        PATRONATO,
        ("intake", "upload_attachment"),
        ("domanda.pdf", base64.b64encode(PDF).decode("ascii")),
        {"id": ATTACHMENT_ID, "filename": "domanda.pdf", "content_type": "application/pdf", "size": len(PDF)},
        status=201,
        request={"files": {"file": ("domanda.pdf", PDF, "application/pdf")}},
    ),
    ("POST", "/api/v1/requests"): Case(
        PATRONATO,
        ("intake", "submit_request"),
        (SUBMISSION, CORRELATION_ID),
        {"id": REQUEST_ID, "protocol": "COMBID.2026.00000001", "state": "open"},
        status=201,
        request={"json": SUBMISSION},
        headers={"Location": f"/api/v1/requests/{REQUEST_ID}"},
    ),
    ("GET", "/api/v1/requests"): Case(
        OFFICIAL,
        ("intake", "search_requests"),
        ({"state": "open", "origin": "patronato", "page": "2"},),
        {
            "items": [SUMMARY],
            "page": 2,
            "page_size": 20,
            "total": 21,
            "total_is_estimate": False,
            "next_cursor": "WzEsIjIwMjYtMDMtMDJUMDk6MDA6MDArMDA6MDAiLCIxYjRlMjhiYS0yZmExLTExZDItODgzZi0w"
            "MDE2ZDNjY2E0MjciXQ",
        },
        request={"params": {"state": "open", "origin": "patronato", "page": "2"}},
    ),
    ("GET", "/api/v1/requests/<string:request_id>"): Case(
        PATRONATO,
        ("intake", "get_request"),
        (REQUEST_ID,),
        DETAIL,
        path={"request_id": REQUEST_ID},
        # agenda owns the booking rule: its answer is added to the detail
        others={("agenda", "eligibility"): ((REQUEST_ID,), ELIGIBILITY)},
        body={
            **DETAIL,
            "booking": {key: ELIGIBILITY[key] for key in ("allowed", "reason_code", "reason")},
        },
    ),
    ("GET", "/api/v1/requests/<string:request_id>/attachments/<string:attachment_id>"): Case(
        PATRONATO,
        ("intake", "attachment_download"),
        (REQUEST_ID, ATTACHMENT_ID),
        # store_url is completed with the stand-in object store's address
        {
            "id": ATTACHMENT_ID,
            "filename": "domanda già firmata.pdf",
            "content_type": "application/pdf",
            "size": len(PDF),
            "store_url": "/bucket/objects/1?X-Amz-Signature=secret-signature",
        },
        path={"request_id": REQUEST_ID, "attachment_id": ATTACHMENT_ID},
        body=PDF,
        headers={
            "Content-Type": "application/pdf",
            "Content-Length": str(len(PDF)),
            "Content-Disposition": 'attachment; filename="domanda gi_ firmata.pdf"; '
            "filename*=UTF-8''domanda%20gi%C3%A0%20firmata.pdf",
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        },
    ),
    ("POST", "/api/v1/requests/<string:request_id>/take"): step(
        "take_in_charge", OFFICIAL, {"comment": "In lavorazione"}, {"id": REQUEST_ID, "state": "in_progress"}
    ),
    ("POST", "/api/v1/requests/<string:request_id>/replies"): step(
        "reply",
        OFFICIAL,
        {"text": "La domanda è in istruttoria."},
        {"id": REQUEST_ID, "state": "in_progress", "message_id": "0a0b0c0d-1e1f-4a2b-8c3d-4e5f60718293"},
    ),
    ("POST", "/api/v1/requests/<string:request_id>/close"): step(
        "close",
        OFFICIAL,
        {"outcome": "Pratica definita", "enable_booking": True},
        {"id": REQUEST_ID, "state": "closed"},
    ),
    ("POST", "/api/v1/requests/<string:request_id>/subject"): step(
        "change_subject",
        OFFICIAL,
        {"subject": "prestazione_in_corso_o_respinta", "comment": "Oggetto più preciso"},
        {"id": REQUEST_ID, "subject": "prestazione_in_corso_o_respinta", "sla_days": 25},
    ),
    ("POST", "/api/v1/requests/<string:request_id>/followups"): step(
        "add_followup",
        PATRONATO,
        {"text": "Servono altri documenti?"},
        {"id": REQUEST_ID, "message_id": "1a1b1c1d-2e2f-4a3b-8c4d-5e6f70819203", "followups_left": 1},
    ),
    ("POST", "/api/v1/requests/<string:request_id>/reminders"): step(
        "add_reminder", PATRONATO, {"text": "Si sollecita"}, {"id": REQUEST_ID, "reminders": 1}
    ),
    ("POST", "/api/v1/outbound"): Case(
        OFFICIAL,
        ("intake", "send_outbound"),
        (OUTBOUND, CORRELATION_ID),
        {"id": REQUEST_ID, "protocol": "COMBID.2026.00000002"},
        status=201,
        request={"json": OUTBOUND},
    ),
    ("PUT", "/api/v1/patronato/operators/<string:operator_id>/profile"): Case(
        PATRONATO_ADMIN,
        ("intake", "set_referente_profile"),
        (OPERATOR, {"referente_regionale": True}),
        {
            "operator": OPERATOR,
            "patronato": "001",
            "referente_regionale": True,
            "changed_at": "2026-03-16T10:00:00+00:00",
        },
        path={"operator_id": OPERATOR},
        request={"json": {"referente_regionale": True}},
    ),
    ("GET", "/api/v1/routing/explain"): Case(
        OFFICIAL, ("routing", "explain"), (EXPLAIN_QUERY,), DECISION, request={"params": EXPLAIN_QUERY}
    ),
    ("GET", "/api/v1/routing/decisions/<string:request_id>"): Case(
        OFFICIAL, ("routing", "explain_decision"), (REQUEST_ID,), HISTORY, path={"request_id": REQUEST_ID}
    ),
    ("GET", "/api/v1/routing/sedi"): Case(
        OFFICIAL,
        ("routing", "list_sedi"),
        ({"region": "Lazio"},),
        SEDI,
        request={"params": {"region": "Lazio"}},
    ),
    ("GET", "/api/v1/routing/versions"): Case(OFFICIAL, ("routing", "list_versions"), (), VERSIONS),
    ("POST", "/api/v1/requests/<string:request_id>/assignment"): Case(
        OFFICIAL,
        ("routing", "reassign"),
        (REQUEST_ID, REASSIGNMENT),
        REASSIGNED,
        path={"request_id": REQUEST_ID},
        request={"json": REASSIGNMENT},
    ),
    ("GET", "/api/v1/agenda/punti"): Case(
        PATRONATO,
        ("agenda", "list_punti"),
        ({"sede": "0704"},),
        [PUNTO],
        request={"params": {"sede": "0704"}},
    ),
    ("GET", "/api/v1/agenda/availability"): Case(
        PATRONATO,
        ("agenda", "availability"),
        ({"punto_id": "0704-SEDE", "from": "2026-03-16", "to": "2026-03-20", "modality": "web_meeting"},),
        AVAILABILITY,
        request={
            "params": {
                "punto": "0704-SEDE",
                "from": "2026-03-16",
                "to": "2026-03-20",
                "modality": "web_meeting",
            }
        },
    ),
    ("POST", "/api/v1/appointments"): Case(
        PATRONATO,
        ("agenda", "book"),
        (BOOKING, CORRELATION_ID),
        APPOINTMENT,
        status=201,
        request={"json": BOOKING},
        headers={"Location": f"/api/v1/appointments/{BOOKING_ID}"},
    ),
    ("GET", "/api/v1/appointments"): Case(
        PATRONATO,
        ("agenda", "search_appointments"),
        ({"from": "2026-03-16", "to": "2026-03-16", "codice_fiscale": "RSSMRA85T10A562S", "punto_id": "P1"},),
        {"items": [APPOINTMENT_SUMMARY], "total": 1, "page": 1, "page_size": 20},
        request={"params": {"date": "2026-03-16", "codice_fiscale": "RSSMRA85T10A562S", "punto": "P1"}},
    ),
    ("GET", "/api/v1/appointments/<string:booking_id>"): Case(
        PATRONATO,
        ("agenda", "get_appointment"),
        (BOOKING_ID,),
        APPOINTMENT,
        path={"booking_id": BOOKING_ID},
    ),
    ("GET", "/api/v1/appointments/<string:booking_id>/ics"): Case(
        PATRONATO,
        ("agenda", "appointment_ics"),
        (BOOKING_ID,),
        {
            "filename": f"appuntamento-{BOOKING_ID}.ics",
            "content_type": "text/calendar; charset=utf-8",
            "content": ICS,
        },
        path={"booking_id": BOOKING_ID},
        body=ICS.encode(),
        headers={
            "Content-Type": "text/calendar; charset=utf-8",
            "Content-Disposition": f'attachment; filename="appuntamento-{BOOKING_ID}.ics"; '
            f"filename*=UTF-8''appuntamento-{BOOKING_ID}.ics",
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        },
    ),
    ("POST", "/api/v1/appointments/<string:booking_id>/cancel"): Case(
        OFFICIAL,
        ("agenda", "cancel_appointment"),
        (BOOKING_ID, {"reason": "Sede chiusa"}, CORRELATION_ID),
        CANCELLED,
        path={"booking_id": BOOKING_ID},
        request={"json": {"reason": "Sede chiusa"}},
    ),
    ("POST", "/api/v1/appointments/<string:booking_id>/reschedule"): Case(
        PATRONATO,
        ("agenda", "reschedule"),
        (BOOKING_ID, BOOKING, CORRELATION_ID),
        {**APPOINTMENT, "id": REQUEST_ID, "rescheduled_from": BOOKING_ID},
        path={"booking_id": BOOKING_ID},
        request={"json": BOOKING},
    ),
    ("PUT", "/api/v1/agenda/punti/<string:punto_id>/availability"): Case(
        OFFICIAL,
        ("agenda", "set_availability"),
        ("0704-SEDE", {"weekly": "mon=09:00-12:30", "slot_minutes": 30}),
        PUNTO,
        path={"punto_id": "0704-SEDE"},
        request={"json": {"weekly": "mon=09:00-12:30", "slot_minutes": 30}},
    ),
    ("GET", "/api/v1/agenda/day"): Case(
        OFFICIAL,
        ("agenda", "day_view"),
        ({"punto_id": "0704-SEDE", "day": "2026-03-16", "days": "7"},),
        DAY_VIEW,
        request={"params": {"punto": "0704-SEDE", "date": "2026-03-16", "days": "7"}},
    ),
    ("POST", "/api/v1/appointments/<string:booking_id>/outcome"): Case(
        OFFICIAL,
        ("agenda", "record_outcome"),
        (BOOKING_ID, {"outcome": "held"}, CORRELATION_ID),
        {**APPOINTMENT, "state": "held", "outcome_at": "2026-03-16T09:00:00+00:00"},
        path={"booking_id": BOOKING_ID},
        request={"json": {"outcome": "held"}},
    ),
    ("GET", "/api/v1/notifications"): Case(
        PATRONATO,
        ("notify", "list_notifications"),
        ({"kind": "request_routed", "unread": "true"},),
        {"items": [NOTIFICATION], "total": 1, "unread": 1, "page": 1, "page_size": 20},
        request={"params": {"kind": "request_routed", "unread": "true"}},
    ),
    ("POST", "/api/v1/notifications/<string:notification_id>/read"): Case(
        PATRONATO,
        ("notify", "mark_notification_read"),
        (NOTIFICATION_ID,),
        {**NOTIFICATION, "read": True, "read_at": "2026-03-16T09:00:00+00:00"},
        path={"notification_id": NOTIFICATION_ID},
    ),
    ("POST", "/api/v1/notifications/read-all"): Case(
        PATRONATO, ("notify", "mark_all_notifications_read"), (), {"marked": 3, "unread": 0}
    ),
    ("GET", "/api/v1/notifications/preferences"): Case(
        PATRONATO, ("notify", "notification_preferences"), (), PREFERENCES
    ),
    ("PUT", "/api/v1/notifications/preferences"): Case(
        PATRONATO,
        ("notify", "set_notification_preferences"),
        (PREFERENCES_INPUT,),
        PREFERENCES,
        request={"json": PREFERENCES_INPUT},
    ),
    ("GET", "/api/v1/requests/<string:request_id>/deliveries"): Case(
        PATRONATO,
        # intake answers first whether the caller may read the request (404 otherwise)
        ("intake", "get_request"),
        (REQUEST_ID,),
        DETAIL,
        path={"request_id": REQUEST_ID},
        others={("notify", "deliveries_for"): ((REQUEST_ID,), DELIVERIES)},
        body=DELIVERIES,
    ),
    ("GET", "/api/v1/dashboard/indicators"): Case(
        REGIONAL_DIRECTOR,
        ("reporting", "dashboard_indicators"),
        ({**PERIOD_QUERY, "origin": "cassetto"},),
        INDICATORS,
        request={"params": {**PERIOD_QUERY, "origin": "cassetto"}},
    ),
    ("GET", "/api/v1/dashboard/backlog"): Case(
        REGIONAL_DIRECTOR,
        ("reporting", "dashboard_backlog"),
        ({"subject": "f24"},),
        BACKLOG,
        request={"params": {"subject": "f24"}},
    ),
    ("GET", "/api/v1/dashboard/trend"): Case(
        REGIONAL_DIRECTOR,
        ("reporting", "dashboard_trend"),
        (PERIOD_QUERY,),
        TREND,
        request={"params": PERIOD_QUERY},
    ),
    ("GET", "/api/v1/dashboard/subject-changes"): Case(
        REGIONAL_DIRECTOR,
        ("reporting", "dashboard_subject_changes"),
        (PERIOD_QUERY,),
        SUBJECT_CHANGES,
        request={"params": PERIOD_QUERY},
    ),
    ("GET", "/api/v1/dashboard/requests"): Case(
        REGIONAL_DIRECTOR,
        ("reporting", "dashboard_requests"),
        ({"level": "sede", "code": "0704", "bucket": "closed_late", "sla_days": "10"},),
        DASHBOARD_REQUESTS,
        request={"params": {"level": "sede", "code": "0704", "bucket": "closed_late", "sla_days": "10"}},
    ),
    ("GET", "/api/v1/dashboard/customer-care"): Case(
        REGIONAL_DIRECTOR,
        ("reporting", "dashboard_customer_care"),
        ({**PERIOD_QUERY, "modality": "phone"},),
        CUSTOMER_CARE,
        request={"params": {**PERIOD_QUERY, "modality": "phone"}},
    ),
    ("GET", "/api/v1/reports"): Case(
        REGIONAL_DIRECTOR,
        ("reporting", "list_reports"),
        ({"month": "2026-03"},),
        [REPORT],
        request={"params": {"month": "2026-03"}},
    ),
    ("GET", "/api/v1/reports/<string:report_id>/<string:format>"): Case(
        REGIONAL_DIRECTOR,
        ("reporting", "report_download"),
        (REPORT_ID, "pdf"),
        {
            "id": REPORT_ID,
            "format": "pdf",
            "filename": "cruscotto-lazio-2026-03.pdf",
            "content_type": "application/pdf",
            "size": len(PDF),
            "key": "reports/x/cruscotto-lazio-2026-03.pdf",
            "store_url": "/bucket/objects/1?X-Amz-Signature=secret-signature",
        },
        path={"report_id": REPORT_ID, "format": "pdf"},
        body=PDF,
        headers={
            "Content-Type": "application/pdf",
            "Content-Disposition": 'attachment; filename="cruscotto-lazio-2026-03.pdf"; '
            "filename*=UTF-8''cruscotto-lazio-2026-03.pdf",
            "Cache-Control": "private, no-store",
        },
    ),
}
# routes that call no service the way the others do, each with tests of its own:
# tests/interface/test_gateway_probes.py and test_gateway_docs_http.py
OWN_TESTS = {
    ("GET", "/health"),
    ("GET", "/ready"),
    ("GET", "/api/v1/openapi.json"),
    ("GET", "/api/v1/admin/status"),
    ("GET", "/api/docs"),
    ("GET", "/api/docs/<string:filename>"),
}
ROUTE_IDS = [f"{method} {url}" for method, url in CASES]


def send(web_session, method: str, url: str, case: Case, **headers):
    route = next(r for r in declared_routes() if (r.method, r.url) == (method, url))
    request = copy.deepcopy(case.request)
    headers = {**bearer(case.caller), "X-Request-ID": CORRELATION_ID, **headers}
    return web_session.request(method, route.path(**case.path), headers=headers, **request)


def rpc_method(rpc, service: str, method: str):
    return getattr(getattr(rpc, service), method)


def test_every_declared_route_has_a_case():
    declared = {(route.method, route.url) for route in declared_routes()}
    assert declared - set(CASES) - OWN_TESTS == set(), "routes without a case here"
    assert set(CASES) | OWN_TESTS <= declared, "cases of routes the gateway does not declare"


@pytest.mark.parametrize("method, url", CASES, ids=ROUTE_IDS)
def test_each_route_calls_its_service_and_answers_its_reply(gateway, web_session, object_store, method, url):
    case = CASES[(method, url)]
    reply = copy.deepcopy(case.reply)
    if isinstance(reply, dict) and "store_url" in reply:
        object_store.objects["/bucket/objects/1"] = PDF
        reply["store_url"] = object_store.url + reply["store_url"]
    rpc_method(gateway.rpc, *case.rpc).return_value = reply
    for (service, name), (_, other_reply) in case.others.items():
        rpc_method(gateway.rpc, service, name).return_value = copy.deepcopy(other_reply)

    response = send(web_session, method, url, case)

    assert response.status_code == case.status, response.text
    expected = case.reply if case.body is None else case.body
    if isinstance(expected, bytes):
        assert response.content == expected
        assert "secret-signature" not in str(response.headers)  # the store's link stays inside
    else:
        assert response.headers["Content-Type"].startswith("application/json")
        assert response.json() == expected
    for header, value in case.headers.items():
        assert response.headers[header] == value
    rpc_method(gateway.rpc, *case.rpc).assert_called_once_with(claims(case.caller), *case.args)
    for (service, name), (args, _) in case.others.items():
        rpc_method(gateway.rpc, service, name).assert_called_once_with(*args)


SERVICE_ERRORS = [
    NotFound("request_not_found", "Richiesta non trovata."),
    Forbidden("missing_group", "Operatore non abilitato al servizio."),
    Conflict(
        "booking_not_allowed",
        "La prenotazione sarà possibile dopo 15 giorni senza risposta.",
        extra={"reason_code": "waiting_for_answer", "booking_possible_from": "2026-03-31"},
    ),
    Conflict(
        "reminder_too_early",
        "Sollecito possibile dal 31/03/2026.",
        extra={"reminder_allowed_from": "2026-03-31"},
    ),
    InvalidInput.from_errors(
        [
            field_error("citizen.cap", "unknown_cap", "CAP inesistente."),
            field_error("case_identifier", "identifier_required", "Identificativo obbligatorio."),
        ]
    ),
    Unavailable("database_unavailable", "Il database del servizio intake non è raggiungibile."),
]


@pytest.mark.parametrize("error", SERVICE_ERRORS, ids=lambda error: f"{error.status}-{error.code}")
@pytest.mark.parametrize("method, url", CASES, ids=ROUTE_IDS)
def test_each_route_answers_a_service_error_with_its_problem_document(
    gateway, web_session, method, url, error: ProblemError
):
    case = CASES[(method, url)]
    rpc_method(gateway.rpc, *case.rpc).side_effect = error

    response = send(web_session, method, url, case)

    problem = assert_problem(response, error.status, error.code)
    assert problem["detail"] == error.detail
    assert problem.get("errors", []) == error.errors
    for member, value in error.extra.items():
        assert problem[member] == value
    rpc_method(gateway.rpc, *case.rpc).assert_called_once_with(claims(case.caller), *case.args)


def stalls(*args):
    eventlet.sleep(30)


OUTAGES = {
    "broker unreachable": (OperationalError("[Errno 111] Connection refused"), "broker_unavailable"),
    "reply queue lost": (RepliesLost("risposta RPC persa"), "broker_unavailable"),
    "no answer in time": (stalls, "service_timeout"),
}


@pytest.mark.parametrize("outage", OUTAGES)
@pytest.mark.parametrize("method, url", CASES, ids=ROUTE_IDS)
def test_each_route_answers_an_outage_with_503_and_retry_after(gateway, web_session, method, url, outage):
    case = CASES[(method, url)]
    side_effect, code = OUTAGES[outage]
    rpc_method(gateway.rpc, *case.rpc).side_effect = side_effect

    with config.patch({"RPC_TIMEOUT_SECONDS": 0.2}):
        response = send(web_session, method, url, case)

    assert_problem(response, 503, code)


@pytest.mark.parametrize("method, url", CASES, ids=ROUTE_IDS)
def test_an_unexpected_service_error_is_a_500_that_says_nothing_of_it(gateway, web_session, method, url):
    case = CASES[(method, url)]
    internal = "KeyError: 'password' in /srv/intake/handlers.py line 42"
    rpc_method(gateway.rpc, *case.rpc).side_effect = RemoteError("KeyError", internal)

    response = send(web_session, method, url, case)

    problem = assert_problem(response, 500, "internal_error")
    assert "KeyError" not in response.text and "password" not in response.text
    assert problem["detail"]


# ---- refused by the gateway itself: no service is asked ------------------------------------

REFUSALS = {
    "submit as an official": (
        ("POST", "/api/v1/requests"),
        dict(caller=OFFICIAL, request={"json": SUBMISSION}),
        403,
        "requester_only",
    ),
    "take as a requester": (
        ("POST", "/api/v1/requests/<string:request_id>/take"),
        dict(caller=PATRONATO, request={"json": {}}),
        403,
        "official_only",
    ),
    "follow up as an official": (
        ("POST", "/api/v1/requests/<string:request_id>/followups"),
        dict(caller=OFFICIAL, request={"json": {"text": "x"}}),
        403,
        "requester_only",
    ),
    "outbound as a requester": (
        ("POST", "/api/v1/outbound"),
        dict(caller=PATRONATO, request={"json": OUTBOUND}),
        403,
        "official_only",
    ),
    "grant referente as an operator": (
        ("PUT", "/api/v1/patronato/operators/<string:operator_id>/profile"),
        dict(caller=PATRONATO, request={"json": {"referente_regionale": True}}),
        403,
        "role_not_allowed",
    ),
    "upload as an official": (
        ("POST", "/api/v1/attachments"),
        dict(caller=OFFICIAL, request={"files": {"file": ("a.pdf", PDF)}}),
        403,
        "requester_only",
    ),
    "upload without a file": (
        ("POST", "/api/v1/attachments"),
        dict(caller=PATRONATO, request={"files": {"other": ("a.pdf", PDF)}}),
        422,
        "validation_failed",
    ),
    "submission missing its text": (
        ("POST", "/api/v1/requests"),
        dict(caller=PATRONATO, request={"json": {"subject": "sollecito_domanda"}}),
        422,
        "validation_failed",
    ),
    "submission not JSON": (
        ("POST", "/api/v1/requests"),
        dict(caller=PATRONATO, request={"data": "subject=x", "headers": {"Content-Type": "text/plain"}}),
        400,
        "unsupported_media_type",
    ),
    "submission broken JSON": (
        ("POST", "/api/v1/requests"),
        dict(caller=PATRONATO, request={"data": "{", "headers": {"Content-Type": "application/json"}}),
        400,
        "invalid_json",
    ),
    "body over 1 MB": (
        ("POST", "/api/v1/requests/<string:request_id>/replies"),
        dict(caller=OFFICIAL, request={"json": {"text": "x" * (1024 * 1024)}}),
        413,
        "body_too_large",
    ),
    "unknown field in a step": (
        ("POST", "/api/v1/requests/<string:request_id>/close"),
        dict(caller=OFFICIAL, request={"json": {"outcome": "Definita", "secret_flag": True}}),
        422,
        "validation_failed",
    ),
    "search on an unknown state": (
        ("GET", "/api/v1/requests"),
        dict(caller=OFFICIAL, request={"params": {"state": "lost"}}),
        422,
        "validation_failed",
    ),
    "operator id too long": (
        ("PUT", "/api/v1/patronato/operators/<string:operator_id>/profile"),
        dict(
            caller=PATRONATO_ADMIN,
            path={"operator_id": "x" * 101},
            request={"json": {"referente_regionale": True}},
        ),
        422,
        "validation_failed",
    ),
    "book as an official": (
        ("POST", "/api/v1/appointments"),
        dict(caller=OFFICIAL, request={"json": BOOKING}),
        403,
        "role_not_allowed",
    ),
    "day view as a requester": (
        ("GET", "/api/v1/agenda/day"),
        dict(caller=PATRONATO, request={"params": {"punto": "P1", "date": "2026-03-16"}}),
        403,
        "official_only",
    ),
    "outcome as a requester": (
        ("POST", "/api/v1/appointments/<string:booking_id>/outcome"),
        dict(caller=PATRONATO, request={"json": {"outcome": "held"}}),
        403,
        "official_only",
    ),
    "availability without its range": (
        ("GET", "/api/v1/agenda/availability"),
        dict(caller=PATRONATO, request={"params": {"punto": "P1"}}),
        422,
        "validation_failed",
    ),
    "dashboard as a requester": (
        ("GET", "/api/v1/dashboard/indicators"),
        dict(caller=PATRONATO, request={"params": {}}),
        403,
        "role_not_allowed",
    ),
    "dashboard as a director without scope": (
        ("GET", "/api/v1/dashboard/backlog"),
        dict(caller=dict(sub="dir-0", role="direttore"), request={"params": {}}),
        403,
        "missing_scope",
    ),
    "dashboard as an official without the group": (
        ("GET", "/api/v1/dashboard/trend"),
        dict(caller=dict(sub="off-0", role="sede_operatore", sede="0704"), request={"params": {}}),
        403,
        "missing_group",
    ),
    "dashboard on an unknown level": (
        ("GET", "/api/v1/dashboard/indicators"),
        dict(caller=REGIONAL_DIRECTOR, request={"params": {"level": "planet"}}),
        422,
        "validation_failed",
    ),
    "dashboard with a day that is not one": (
        ("GET", "/api/v1/dashboard/subject-changes"),
        dict(caller=REGIONAL_DIRECTOR, request={"params": {"from": "2026-02-30"}}),
        422,
        "validation_failed",
    ),
    "dashboard list of an unknown cell": (
        ("GET", "/api/v1/dashboard/requests"),
        dict(caller=REGIONAL_DIRECTOR, request={"params": {"bucket": "lost", "page_size": "1000"}}),
        422,
        "validation_failed",
    ),
    "customer care of the triage queue": (
        ("GET", "/api/v1/dashboard/customer-care"),
        dict(caller=REGIONAL_DIRECTOR, request={"params": {"level": "triage"}}),
        422,
        "validation_failed",
    ),
    "customer care in an unknown modality": (
        ("GET", "/api/v1/dashboard/customer-care"),
        dict(caller=REGIONAL_DIRECTOR, request={"params": {"modality": "fax"}}),
        422,
        "validation_failed",
    ),
    "customer care as a requester": (
        ("GET", "/api/v1/dashboard/customer-care"),
        dict(caller=PATRONATO, request={"params": {}}),
        403,
        "role_not_allowed",
    ),
    "reports as a sede director": (
        ("GET", "/api/v1/reports"),
        dict(caller=dict(sub="dir-2", role="direttore", sede="0704"), request={"params": {}}),
        403,
        "role_not_allowed",
    ),
    "report in an unknown format": (
        ("GET", "/api/v1/reports/<string:report_id>/<string:format>"),
        dict(caller=REGIONAL_DIRECTOR, path={"report_id": REQUEST_ID, "format": "docx"}, request={}),
        422,
        "validation_failed",
    ),
    "booking with an unknown modality": (
        ("POST", "/api/v1/appointments"),
        dict(caller=PATRONATO, request={"json": {**BOOKING, "modality": "pigeon"}}),
        422,
        "validation_failed",
    ),
}


@pytest.mark.parametrize("refusal", REFUSALS)
def test_the_gateway_refuses_these_before_asking_any_service(gateway, web_session, refusal):
    (method, url), given, status, code = REFUSALS[refusal]
    request = dict(given["request"])
    extra_headers = request.pop("headers", {})
    case = Case(given["caller"], ("", ""), (), None, path=given.get("path", {}), request=request)

    response = send(web_session, method, url, case, **extra_headers)

    assert_problem(response, status, code)
    assert gateway.rpc.mock_calls == []


# ---- the booking part of a request's detail -------------------------------------------------


@pytest.mark.parametrize(
    "agenda_answer, booking",
    [
        (
            NotFound("not_found", "Richiesta ignota all'agenda."),
            {"allowed": False, "reason_code": "not_yet_known"},
        ),
        (
            Unavailable("database_unavailable", "Agenda giù."),
            {"allowed": None, "reason_code": "agenda_unavailable"},
        ),
        (OperationalError("Connection refused"), {"allowed": None, "reason_code": "agenda_unavailable"}),
    ],
    ids=["not yet known", "agenda unavailable", "broker unreachable"],
)
def test_a_detail_is_answered_when_agenda_cannot_say_about_booking(
    gateway, web_session, agenda_answer, booking
):
    method, url = "GET", "/api/v1/requests/<string:request_id>"
    case = CASES[(method, url)]
    gateway.rpc.intake.get_request.return_value = copy.deepcopy(DETAIL)
    gateway.rpc.agenda.eligibility.side_effect = agenda_answer

    response = send(web_session, method, url, case)

    assert response.status_code == 200, response.text
    detail = response.json()
    assert {key: detail["booking"][key] for key in booking} == booking
    assert detail["booking"]["reason"]
    assert {key: value for key, value in detail.items() if key != "booking"} == DETAIL


def test_no_agenda_question_about_a_request_the_caller_may_not_see(gateway, web_session):
    method, url = "GET", "/api/v1/requests/<string:request_id>"
    gateway.rpc.intake.get_request.side_effect = NotFound("request_not_found", "Richiesta non trovata.")

    assert_problem(send(web_session, method, url, CASES[(method, url)]), 404, "request_not_found")
    gateway.rpc.agenda.eligibility.assert_not_called()


# ---- downloads: the object store behind the gateway -----------------------------------------


@pytest.mark.parametrize(
    "store_path, status, code",
    [("/bucket/gone", 404, "attachment_not_found"), ("/broken", 503, "storage_unavailable")],
    ids=["object missing", "store failing"],
)
def test_a_download_the_store_cannot_serve_is_a_problem(
    gateway, web_session, object_store, store_path, status, code
):
    method, url = "GET", "/api/v1/requests/<string:request_id>/attachments/<string:attachment_id>"
    case = CASES[(method, url)]
    gateway.rpc.intake.attachment_download.return_value = {
        **case.reply,
        "store_url": object_store.url + store_path,
    }

    assert_problem(send(web_session, method, url, case), status, code)


def test_a_download_from_an_unreachable_store_is_a_503(gateway, web_session):
    method, url = "GET", "/api/v1/requests/<string:request_id>/attachments/<string:attachment_id>"
    case = CASES[(method, url)]
    gateway.rpc.intake.attachment_download.return_value = {**case.reply, "store_url": "http://127.0.0.1:1/x"}

    assert_problem(send(web_session, method, url, case), 503, "storage_unavailable")
