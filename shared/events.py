"""The event contract: envelope, one marshmallow schema per event type and version.

Every event travels as a JSON envelope (DESIGN.md §3)::

    {"event_id": uuid, "type": "request_submitted", "version": 1,
     "occurred_at": "2026-11-23T10:00:00+00:00", "producer": "intake",
     "correlation_id": "...", "payload": {...}}

and, only where tracing is on (``shared.tracing``), ``"traceparent"``: the W3C trace context
of the span that made the event, so the consumer's span continues the same trace.

Payloads are validated on publish (``make_event``) and on consume (``parse_event``). An
event whose type/version is not in ``EVENT_SCHEMAS``, or whose payload does not match, is
refused with ``InvalidEvent`` and dead-lettered by the consumer: never dropped, never
half-applied. The list of event types lives here and nowhere else.
"""

from __future__ import annotations

import functools
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from shared.identifiers import MATRICOLA_PATTERN
from shared.tracing import TRACEPARENT_PATTERN, current_traceparent
from shared.vocabulary import CRIC_SECTIONS, ORIGINS, SLA_DAYS

ASSIGNMENT_KINDS = ("sede", "cric", "polo", "triage")
# texts from outside (contact-center systems): no control characters (PostgreSQL refuses NUL)
_SINGLE_LINE = validate.Regexp(r"^[^\x00-\x1f\x7f]*\Z", error="caratteri di controllo non ammessi")
_MULTI_LINE = validate.Regexp(
    r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*\Z", error="caratteri di controllo non ammessi"
)


class InvalidEvent(Exception):
    """An envelope or payload that does not match the contract."""

    def __init__(self, reason: str, detail):
        self.reason = reason
        self.detail = detail
        super().__init__(reason, detail)


class StrictSchema(Schema):
    class Meta:
        # marshmallow's default: unknown fields raise. Stated for the reader.
        unknown = "raise"


class EnvelopeSchema(StrictSchema):
    event_id = fields.UUID(required=True)
    type = fields.String(required=True, validate=validate.Length(min=1, max=100))
    version = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    occurred_at = fields.AwareDateTime(required=True, format="iso")
    producer = fields.String(required=True, validate=validate.Length(min=1, max=100))
    # travels as an AMQP property too (at most 255 bytes): printable ASCII only
    correlation_id = fields.String(
        required=True, validate=[validate.Length(min=1, max=200), validate.Regexp(r"^[\x21-\x7e]+\Z")]
    )
    payload = fields.Dict(required=True)
    # optional: the W3C trace context of the span that made the event (shared.tracing),
    # present only where tracing is on; consumers that know it continue the trace
    traceparent = fields.String(load_default=None, validate=validate.Regexp(TRACEPARENT_PATTERN))


# ---- payload schemas ---------------------------------------------------------------


class CitizenSchema(StrictSchema):
    codice_fiscale = fields.String(required=True)
    cap = fields.String(required=True)


class PatronatoOfficeSchema(StrictSchema):
    ente = fields.String(required=True)
    ufficio = fields.String(required=True)


class ContactsSchema(StrictSchema):
    email = fields.Email(load_default=None, allow_none=True)
    sms = fields.String(load_default=None, allow_none=True)


class CaseIdentifierSchema(StrictSchema):
    kind = fields.String(required=True)
    value = fields.String(required=True)


class RequestSubmittedV1(StrictSchema):
    request_id = fields.UUID(required=True)
    protocol = fields.String(required=True)
    origin = fields.String(
        required=True,
        validate=validate.OneOf(ORIGINS),
    )
    channel = fields.String(required=True)
    profile = fields.String(required=True)
    subject = fields.String(required=True)
    catalog_version = fields.String(required=True)
    area = fields.String(required=True)
    sla_days = fields.Integer(required=True, validate=validate.OneOf(SLA_DAYS))
    citizen = fields.Nested(CitizenSchema, load_default=None, allow_none=True)
    matricola = fields.String(load_default=None, allow_none=True)
    patronato = fields.Nested(PatronatoOfficeSchema, load_default=None, allow_none=True)
    case_identifier = fields.Nested(CaseIdentifierSchema, load_default=None, allow_none=True)
    contacts = fields.Nested(ContactsSchema, required=True)
    parent_id = fields.UUID(load_default=None, allow_none=True)
    requester = fields.String(required=True)
    submitted_at = fields.AwareDateTime(required=True, format="iso")
    # added later, optional: the intermediary who wrote (codice fiscale) and the e-mail
    # address in the requester's token, where notify writes when the request gives none
    consulente = fields.String(load_default=None, allow_none=True)
    requester_email = fields.Email(load_default=None, allow_none=True)
    # Optional, added later: the CRIC section a referente regionale's question (or a scheda
    # Linea INPS) concerns, and the region a scheda names
    cric_section = fields.String(load_default=None, allow_none=True)
    region = fields.String(load_default=None, allow_none=True)


class AssignmentSchema(StrictSchema):
    kind = fields.String(required=True, validate=validate.OneOf(ASSIGNMENT_KINDS))
    code = fields.String(required=True)
    name = fields.String(required=True)
    reason = fields.String(required=True)
    queue = fields.String(required=True)
    region = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=60))


class RequestRoutedV1(StrictSchema):
    request_id = fields.UUID(required=True)
    assignment = fields.Nested(AssignmentSchema, required=True)
    rule = fields.String(required=True)
    reference_version = fields.String(required=True)
    decided_at = fields.AwareDateTime(required=True, format="iso")
    # Optional, added later with defaults so earlier producers and consumers keep working:
    # an official's reassignment, and the assignment a re-routing replaced.
    manual = fields.Boolean(load_default=False)
    previous = fields.Nested(AssignmentSchema, load_default=None, allow_none=True)


class RequestStepV1(StrictSchema):
    """Fields every lifecycle event about a request carries."""

    request_id = fields.UUID(required=True)
    protocol = fields.String(required=True)
    actor = fields.String(required=True)
    actor_role = fields.String(required=True)
    at = fields.AwareDateTime(required=True, format="iso")
    comment = fields.String(load_default=None, allow_none=True)


class RequestTakenInChargeV1(RequestStepV1):
    sede = fields.String(load_default=None, allow_none=True)


class RequestAnsweredV1(RequestStepV1):
    message_id = fields.UUID(required=True)
    answer_number = fields.Integer(required=True, validate=validate.Range(min=1))
    first_answer = fields.Boolean(required=True)


class RequestFollowupAddedV1(RequestStepV1):
    message_id = fields.UUID(required=True)
    interactions_used = fields.Integer(required=True, validate=validate.Range(min=1))
    interactions_left = fields.Integer(required=True, validate=validate.Range(min=0))
    # added later with a default: the follow-up reopened a request closed with its first answer
    reopened = fields.Boolean(load_default=False)


class RequestRemindedV1(RequestStepV1):
    days_waited = fields.Integer(required=True)


class RequestSubjectChangedV1(RequestStepV1):
    old_subject = fields.String(required=True)
    new_subject = fields.String(required=True)
    catalog_version = fields.String(required=True)
    area = fields.String(required=True)
    sla_days = fields.Integer(required=True, validate=validate.OneOf(SLA_DAYS))
    # Optional, added later: the facts routing decides on, as in ``request_submitted``, so
    # that a request whose recorded routing input is blank (routing's migration 0002 left
    # ``{}`` for decisions taken before it) is re-routed on them and not sent to triage.
    channel = fields.String(load_default=None, allow_none=True)
    profile = fields.String(load_default=None, allow_none=True)
    citizen = fields.Nested(CitizenSchema, load_default=None, allow_none=True)
    matricola = fields.String(load_default=None, allow_none=True)
    patronato = fields.Nested(PatronatoOfficeSchema, load_default=None, allow_none=True)
    cric_section = fields.String(load_default=None, allow_none=True)
    region = fields.String(load_default=None, allow_none=True)


class RequestClosedV1(RequestStepV1):
    outcome = fields.String(required=True)
    booking_enabled = fields.Boolean(required=True)
    # added later: whether booking is possible at all once closed (enabled by the office, or
    # interactions used up); None from earlier producers, read as ``booking_enabled``
    booking_possible = fields.Boolean(load_default=None, allow_none=True)


class RecipientSchema(StrictSchema):
    kind = fields.String(required=True, validate=validate.OneOf(["azienda", "intermediario", "patronato"]))
    matricola = fields.String(load_default=None, allow_none=True)
    codice_fiscale = fields.String(load_default=None, allow_none=True)
    patronato = fields.Nested(PatronatoOfficeSchema, load_default=None, allow_none=True)


class OutboundMessageSentV1(StrictSchema):
    message_id = fields.UUID(required=True)
    request_id = fields.UUID(load_default=None, allow_none=True)
    sede = fields.String(required=True)
    actor = fields.String(required=True)
    recipient = fields.Nested(RecipientSchema, required=True)
    subject = fields.String(required=True)
    contacts = fields.Nested(ContactsSchema, required=True)
    sent_at = fields.AwareDateTime(required=True, format="iso")


CONTACT_CENTER_KINDS = ("fax_inbound", "contact_center_outbound", "scheda_linea_inps")


class ContactCenterMessageV1(StrictSchema):
    """Published by the contact-center systems (external): an inbound fax, an outbound
    contact-center message, or a "scheda Linea INPS" (circ. 135/2011: a question the contact
    center could not answer, for the consulting area of the regional CRIC), about a
    company/intermediary (matricola) or a citizen (codice fiscale)."""

    message_id = fields.String(required=True, validate=validate.Length(min=1, max=100))
    kind = fields.String(required=True, validate=validate.OneOf(CONTACT_CENTER_KINDS))
    matricola = fields.String(load_default=None, allow_none=True, validate=validate.Regexp(MATRICOLA_PATTERN))
    codice_fiscale = fields.String(
        load_default=None, allow_none=True, validate=validate.Regexp(r"^[A-Z0-9]{11,16}\Z")
    )
    sender = fields.String(required=True, validate=[validate.Length(min=1, max=200), _SINGLE_LINE])
    subject = fields.String(required=True, validate=[validate.Length(min=1, max=300), _SINGLE_LINE])
    text = fields.String(required=True, validate=[validate.Length(min=1, max=20000), _MULTI_LINE])
    occurred_at = fields.AwareDateTime(required=True, format="iso")
    # Optional, added later. A scheda names the region of the CRIC and the section (the
    # area of consulenza); without a section it waits in the region's triage.
    region = fields.String(
        load_default=None, allow_none=True, validate=[validate.Length(min=1, max=60), _SINGLE_LINE]
    )
    cric_section = fields.String(
        load_default=None, allow_none=True, validate=validate.OneOf(list(CRIC_SECTIONS))
    )
    # A fax's image, uploaded first through the gateway (POST /api/v1/attachments with a
    # contact-center token, whose sub is ``uploaded_by``): never on the broker.
    image_attachment_id = fields.UUID(load_default=None, allow_none=True)
    uploaded_by = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=100))

    @validates_schema
    def names_someone(self, data, **kwargs):
        if not data.get("matricola") and not data.get("codice_fiscale"):
            raise ValidationError("indicare matricola o codice_fiscale", "matricola")

    @validates_schema
    def scheda_names_its_region(self, data, **kwargs):
        if data.get("kind") == "scheda_linea_inps" and not data.get("region"):
            raise ValidationError("una scheda Linea INPS indica la regione del CRIC", "region")

    @validates_schema
    def image_of_a_fax(self, data, **kwargs):
        if data.get("image_attachment_id") and data.get("kind") != "fax_inbound":
            raise ValidationError("solo un fax ha un'immagine", "image_attachment_id")
        if data.get("image_attachment_id") and not data.get("uploaded_by"):
            raise ValidationError("indicare chi ha caricato l'immagine (uploaded_by)", "uploaded_by")


class ContactCenterMessageRecordedV1(StrictSchema):
    message_id = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(CONTACT_CENTER_KINDS))
    matricola = fields.String(load_default=None, allow_none=True)
    codice_fiscale = fields.String(load_default=None, allow_none=True)
    recorded_at = fields.AwareDateTime(required=True, format="iso")


# ---- appointments (agenda) -----------------------------------------------------------


class AppointmentContactSchema(StrictSchema):
    email = fields.String(load_default=None, allow_none=True)
    phone = fields.String(load_default=None, allow_none=True)


class AppointmentFactsV1(StrictSchema):
    """What every appointment event carries: enough for a message or a count on its own."""

    booking_id = fields.UUID(required=True)
    request_id = fields.UUID(load_default=None, allow_none=True)
    punto_id = fields.String(required=True)
    punto_name = fields.String(required=True)
    punto_address = fields.String(required=True)
    sede = fields.String(required=True)
    region = fields.String(load_default=None, allow_none=True)
    modality = fields.String(required=True, validate=validate.OneOf(["in_person", "phone", "web_meeting"]))
    topic = fields.String(required=True)
    slot_start = fields.AwareDateTime(required=True, format="iso")
    slot_end = fields.AwareDateTime(required=True, format="iso")
    booked_by = fields.String(required=True)
    booked_by_role = fields.String(required=True)
    contact = fields.Nested(AppointmentContactSchema, required=True)
    at = fields.AwareDateTime(required=True, format="iso")


class AppointmentBookedV1(AppointmentFactsV1):
    codici_fiscali = fields.List(fields.String(), required=True)
    room_url = fields.String(load_default=None, allow_none=True)  # web meeting only
    rescheduled_from = fields.UUID(load_default=None, allow_none=True)


class AppointmentCancelledV1(AppointmentFactsV1):
    by = fields.String(required=True, validate=validate.OneOf(["requester", "office"]))
    reason = fields.String(load_default=None, allow_none=True)
    rescheduled_to = fields.UUID(load_default=None, allow_none=True)


class AppointmentOutcomeV1(AppointmentFactsV1):
    note = fields.String(load_default=None, allow_none=True)


class AppointmentReminderDueV1(AppointmentFactsV1):
    lead_minutes = fields.Integer(required=True, validate=validate.Range(min=1))
    room_url = fields.String(load_default=None, allow_none=True)


# ---- reporting ------------------------------------------------------------------------


class ReportFileSchema(StrictSchema):
    format = fields.String(required=True, validate=validate.OneOf(["pdf", "csv", "xlsx"]))
    key = fields.String(required=True, validate=validate.Length(min=1, max=300))
    filename = fields.String(required=True, validate=validate.Length(min=1, max=200))
    content_type = fields.String(required=True, validate=validate.Length(min=1, max=100))
    size = fields.Integer(required=True, validate=validate.Range(min=0))


class ReportPublishedV1(StrictSchema):
    """A Direzione regionale's monthly report is stored (reporting), to be sent to it (notify)."""

    report_id = fields.UUID(required=True)
    region = fields.String(required=True, validate=validate.Length(min=1, max=60))
    month = fields.String(required=True, validate=validate.Regexp(r"^[0-9]{4}-(0[1-9]|1[0-2])\Z"))
    first_day = fields.Date(required=True)
    last_day = fields.Date(required=True)
    published_at = fields.AwareDateTime(required=True, format="iso")
    files = fields.List(
        fields.Nested(ReportFileSchema), required=True, validate=validate.Length(min=1, max=10)
    )
    # the region's figures for the month, for the mail's text (the same as the dashboard's)
    totals = fields.Dict(keys=fields.String(), load_default=dict)


REQUEST_SUBMITTED = "request_submitted"
REQUEST_ROUTED = "request_routed"
REQUEST_TAKEN_IN_CHARGE = "request_taken_in_charge"
REQUEST_ANSWERED = "request_answered"
REQUEST_FOLLOWUP_ADDED = "request_followup_added"
REQUEST_REMINDED = "request_reminded"
REQUEST_SUBJECT_CHANGED = "request_subject_changed"
REQUEST_CLOSED = "request_closed"
OUTBOUND_MESSAGE_SENT = "outbound_message_sent"
CONTACT_CENTER_MESSAGE = "contact_center_message"  # external: published by contact-center systems
CONTACT_CENTER_MESSAGE_RECORDED = "contact_center_message_recorded"
APPOINTMENT_BOOKED = "appointment_booked"
APPOINTMENT_CANCELLED = "appointment_cancelled"
APPOINTMENT_HELD = "appointment_held"
APPOINTMENT_NO_SHOW = "appointment_no_show"
APPOINTMENT_REMINDER_DUE = "appointment_reminder_due"
REPORT_PUBLISHED = "report_published"

# (type, version) -> payload schema. The one list of event types.
EVENT_SCHEMAS: dict[tuple[str, int], type[Schema]] = {
    (REQUEST_SUBMITTED, 1): RequestSubmittedV1,
    (REQUEST_ROUTED, 1): RequestRoutedV1,
    (REQUEST_TAKEN_IN_CHARGE, 1): RequestTakenInChargeV1,
    (REQUEST_ANSWERED, 1): RequestAnsweredV1,
    (REQUEST_FOLLOWUP_ADDED, 1): RequestFollowupAddedV1,
    (REQUEST_REMINDED, 1): RequestRemindedV1,
    (REQUEST_SUBJECT_CHANGED, 1): RequestSubjectChangedV1,
    (REQUEST_CLOSED, 1): RequestClosedV1,
    (OUTBOUND_MESSAGE_SENT, 1): OutboundMessageSentV1,
    (CONTACT_CENTER_MESSAGE, 1): ContactCenterMessageV1,
    (CONTACT_CENTER_MESSAGE_RECORDED, 1): ContactCenterMessageRecordedV1,
    (APPOINTMENT_BOOKED, 1): AppointmentBookedV1,
    (APPOINTMENT_CANCELLED, 1): AppointmentCancelledV1,
    (APPOINTMENT_HELD, 1): AppointmentOutcomeV1,
    (APPOINTMENT_NO_SHOW, 1): AppointmentOutcomeV1,
    (APPOINTMENT_REMINDER_DUE, 1): AppointmentReminderDueV1,
    (REPORT_PUBLISHED, 1): ReportPublishedV1,
}

EVENT_TYPES = sorted({event_type for event_type, _ in EVENT_SCHEMAS})


@dataclass(frozen=True)
class Event:
    event_id: str
    type: str
    version: int
    occurred_at: datetime
    producer: str
    correlation_id: str
    payload: dict = field(default_factory=dict)
    traceparent: str | None = None

    def to_message(self) -> dict:
        """The JSON-ready envelope, as it travels on the broker."""
        message = {
            "event_id": self.event_id,
            "type": self.type,
            "version": self.version,
            "occurred_at": self.occurred_at.isoformat(),
            "producer": self.producer,
            "correlation_id": self.correlation_id,
            "payload": self.payload,
        }
        if self.traceparent:
            message["traceparent"] = self.traceparent
        return message


@functools.cache
def _schema(schema_cls: type[Schema]) -> Schema:
    """One instance per schema class: building one copies every declared field, and this
    runs for every event published and consumed. Loading and dumping keep no state on the
    instance (marshmallow 4 has no context), so green threads share it."""
    return schema_cls()


def _payload_schema(event_type: str, version: int) -> Schema:
    try:
        return _schema(EVENT_SCHEMAS[(event_type, version)])
    except KeyError:
        raise InvalidEvent(
            "unknown_event_version", f"tipo di evento o versione sconosciuti: {event_type} v{version}"
        ) from None


def make_event(
    event_type: str,
    payload: dict,
    *,
    producer: str,
    correlation_id: str | None = None,
    version: int = 1,
    occurred_at: datetime | None = None,
) -> Event:
    """Build an event, validating the payload against its schema (raises InvalidEvent).

    The payload is normalised through dump(load()) so that what is stored in the outbox
    and published is exactly what consumers will validate.
    """
    schema = _payload_schema(event_type, version)
    try:
        normalised = schema.dump(schema.load(_jsonable(payload)))
    except ValidationError as exc:
        raise InvalidEvent("invalid_payload", exc.messages) from exc
    event_id = str(uuid.uuid4())
    return Event(
        event_id=event_id,
        type=event_type,
        version=version,
        occurred_at=occurred_at or datetime.now(UTC),
        producer=producer,
        correlation_id=clean_correlation_id(correlation_id) or event_id,
        payload=normalised,
        traceparent=current_traceparent(),
    )


_CORRELATION_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}\Z")


def clean_correlation_id(value) -> str | None:
    """A correlation id an event may carry (short, plain), or None: whatever a caller sent
    (an X-Request-ID header, an RPC argument) is never trusted to fit an AMQP property."""
    if isinstance(value, str) and _CORRELATION_ID.match(value):
        return value
    return None


def parse_event(message: dict) -> Event:
    """Validate an envelope and its payload as received from the broker."""
    if not isinstance(message, dict):
        raise InvalidEvent("invalid_envelope", "il messaggio non è un oggetto JSON")
    try:
        envelope = _schema(EnvelopeSchema).load(message)
    except ValidationError as exc:
        raise InvalidEvent("invalid_envelope", exc.messages) from exc
    schema = _payload_schema(envelope["type"], envelope["version"])
    try:
        payload = schema.load(envelope["payload"])
    except ValidationError as exc:
        raise InvalidEvent("invalid_payload", exc.messages) from exc
    return Event(
        event_id=str(envelope["event_id"]),
        type=envelope["type"],
        version=envelope["version"],
        occurred_at=envelope["occurred_at"].astimezone(UTC),
        producer=envelope["producer"],
        correlation_id=envelope["correlation_id"],
        payload=payload,
        traceparent=envelope["traceparent"],
    )


def _jsonable(value):
    """Turn datetimes/UUIDs into strings so that load() sees wire-shaped data."""
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value
