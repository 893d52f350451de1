"""Shapes of the data that cross the gateway → service RPC boundary.

The gateway uses these schemas to read HTTP bodies and to generate the OpenAPI document;
the services load the same shapes at their RPC edge (a service never trusts its caller).
Only shapes and formats live here: the rules (which subject needs which identifier, which
CAP exists, who may do what) live in each service's domain.
"""

from __future__ import annotations

import re
from datetime import date

from marshmallow import Schema, ValidationError, fields, validate

from shared.access import OFFICIAL_GROUP, REQUESTER_ROLES, ROLES, SUB_MAX  # noqa: F401 - one definition
from shared.errors import InvalidInput, field_error
from shared.vocabulary import ORIGINS, STATES

IDENTIFIER_KINDS = ("protocollo", "domus", "pensione")
# Dates outside these bounds are typing mistakes, and would overflow date arithmetic.
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(2100, 12, 31)
MAX_PAGE = 10_000
# No control characters in any field (PostgreSQL refuses NUL; the others garble logs and
# mails); free texts keep newlines and tabs.
_NO_CONTROL = re.compile(r"^[^\x00-\x1f\x7f]*\Z")
_TEXT_NO_CONTROL = re.compile(r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*\Z")


class StrictSchema(Schema):
    class Meta:
        unknown = "raise"


def no_control_characters(multiline: bool = False) -> validate.Regexp:
    if multiline:
        return validate.Regexp(
            _TEXT_NO_CONTROL, error="Il testo contiene caratteri di controllo non ammessi."
        )
    return validate.Regexp(_NO_CONTROL, error="Il valore contiene caratteri di controllo non ammessi.")


def Line(
    max_length: int, *, required: bool = False, min_length: int = 0, validators=(), **kwargs
) -> fields.String:
    """A single-line string: bounded, without control characters."""
    checks = [
        validate.Length(min=min_length, max=max_length, error="Da {min} a {max} caratteri."),
        no_control_characters(),
    ]
    checks += list(validators)
    if required:
        return fields.String(required=True, validate=checks, **kwargs)
    kwargs.setdefault("load_default", None)
    return fields.String(allow_none=True, validate=checks, **kwargs)


def Text(max_length: int, *, required: bool = False, min_length: int = 0, **kwargs) -> fields.String:
    """A free text: bounded, newlines and tabs allowed, other control characters refused."""
    checks = [
        validate.Length(
            min=min_length, max=max_length, error="Il testo deve essere tra {min} e {max} caratteri."
        ),
        no_control_characters(multiline=True),
    ]
    if required:
        return fields.String(required=True, validate=checks, **kwargs)
    kwargs.setdefault("load_default", None)
    return fields.String(allow_none=True, validate=checks, **kwargs)


def Day(**kwargs) -> fields.Date:
    """A calendar day AAAA-MM-GG between 1900 and 2100."""
    kwargs.setdefault("load_default", None)
    return fields.Date(
        validate=validate.Range(
            min=FIRST_DAY, max=LAST_DAY, error="La data deve essere tra il 1900 e il 2100."
        ),
        error_messages={"invalid": "Data non valida (AAAA-MM-GG)."},
        **kwargs,
    )


CODICE_FISCALE_SHAPE = validate.Regexp(
    r"^[A-Za-z0-9]{11,16}\Z", error="Codice fiscale non valido (11 o 16 caratteri)."
)
OFFICE_CODE_SHAPE = validate.Regexp(
    r"^[A-Za-z0-9]{1,20}\Z", error="Codice non valido: da 1 a 20 lettere o cifre."
)


class CaseIdentifierInput(StrictSchema):
    kind = fields.String(
        required=True,
        validate=validate.OneOf(
            IDENTIFIER_KINDS, error="Tipo di identificativo non ammesso: usare {choices}."
        ),
        metadata={"description": "protocollo | domus | pensione"},
    )
    value = Line(40, required=True, min_length=1)


class CitizenInput(StrictSchema):
    codice_fiscale = Line(
        20, required=True, metadata={"description": "Codice fiscale del cittadino (16 caratteri)"}
    )
    cap = Line(10, required=True, metadata={"description": "CAP di residenza"})


class ContactsInput(StrictSchema):
    email = fields.Email(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=254),
        error_messages={"invalid": "Indirizzo e-mail non valido."},
    )
    sms = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Regexp(r"^\+?[0-9]{8,15}\Z", error="Numero di cellulare non valido."),
    )


class RequestSubmissionInput(StrictSchema):
    subject = Line(
        60,
        required=True,
        min_length=1,
        metadata={"description": "Codice dell'oggetto (vedi GET /api/v1/subjects)"},
    )
    text = Text(10000, required=True, min_length=1)
    case_identifier = fields.Nested(CaseIdentifierInput, load_default=None, allow_none=True)
    citizen = fields.Nested(CitizenInput, load_default=None, allow_none=True)
    matricola = Line(20)
    attachments = fields.List(fields.UUID(), load_default=list, validate=validate.Length(max=20))
    parent_id = fields.UUID(load_default=None, allow_none=True)
    contacts = fields.Nested(ContactsInput, load_default=dict)


class SubmissionResult(Schema):
    id = fields.UUID(required=True)
    protocol = fields.String(required=True)
    state = fields.String(required=True)


class AttachmentResult(Schema):
    id = fields.UUID(required=True)
    filename = fields.String(required=True)
    content_type = fields.String(required=True)
    size = fields.Integer(required=True)


class AssignmentOutput(Schema):
    kind = fields.String()
    code = fields.String()
    name = fields.String()
    reason = fields.String()
    queue = fields.String()


class StateChangeOutput(Schema):
    from_state = fields.String(allow_none=True)
    to_state = fields.String()
    comment = fields.String(allow_none=True)
    actor = fields.String()
    at = fields.String()


class AttachmentOutput(Schema):
    id = fields.UUID()
    filename = fields.String()
    content_type = fields.String()
    size = fields.Integer()
    download_url = fields.String(
        metadata={
            "description": "Percorso di download nel gateway, con la stessa autorizzazione del dettaglio"
        }
    )


class RequestDetail(Schema):
    id = fields.UUID()
    protocol = fields.String()
    origin = fields.String()
    channel = fields.String()
    profile = fields.String()
    subject = fields.Dict()
    text = fields.String()
    case_identifier = fields.Dict(allow_none=True)
    citizen = fields.Dict(allow_none=True)
    matricola = fields.String(allow_none=True)
    patronato = fields.Dict(allow_none=True)
    parent_id = fields.UUID(allow_none=True)
    state = fields.String()
    assignment = fields.Nested(AssignmentOutput, allow_none=True)
    state_history = fields.List(fields.Nested(StateChangeOutput))
    attachments = fields.List(fields.Nested(AttachmentOutput))
    submitted_at = fields.String()
    updated_at = fields.String()


class SubjectOutput(Schema):
    code = fields.String()
    label = fields.String()
    channel = fields.String()
    profiles = fields.List(fields.String())
    catalog_version = fields.String()
    identifier_required = fields.Boolean()
    identifier_kinds = fields.List(fields.String())
    sla_days = fields.Integer()
    area = fields.String()


class SearchFilters(StrictSchema):
    matricola = Line(20)
    subject = Line(60)
    state = fields.String(
        load_default=None,
        validate=validate.OneOf(list(STATES), error="Stato non valido: usare {choices}."),
    )
    origin = fields.String(
        load_default=None,
        validate=validate.OneOf(
            list(ORIGINS),
            error="Provenienza non valida: usare {choices}.",
        ),
    )
    codice_fiscale = Line(
        16, validators=[CODICE_FISCALE_SHAPE], metadata={"description": "codice fiscale del cittadino"}
    )
    consulente = Line(
        16, validators=[CODICE_FISCALE_SHAPE], metadata={"description": "codice fiscale dell'intermediario"}
    )
    opened_from = Day()
    opened_to = Day()
    updated_from = Day()
    updated_to = Day()
    page = fields.Integer(
        load_default=1, validate=validate.Range(min=1, max=MAX_PAGE, error="La pagina va da {min} a {max}.")
    )
    page_size = fields.Integer(
        load_default=20,
        validate=validate.Range(min=1, max=100, error="Da {min} a {max} elementi per pagina."),
    )


class CommentInput(StrictSchema):
    comment = Text(4000)


class ReplyInput(CommentInput):
    text = Text(10000, required=True, min_length=1)
    close = fields.Boolean(
        load_default=False, metadata={"description": "chiude la richiesta con questo esito"}
    )
    outcome = Text(4000)
    enable_booking = fields.Boolean(load_default=False)


class CloseInput(CommentInput):
    outcome = Text(4000, required=True, min_length=1)
    enable_booking = fields.Boolean(
        load_default=False, metadata={"description": "consente al richiedente di prenotare un appuntamento"}
    )


class SubjectChangeInput(CommentInput):
    subject = Line(60, required=True, min_length=1)


class FollowupInput(StrictSchema):
    text = Text(10000, required=True, min_length=1)


class ReminderInput(StrictSchema):
    text = Text(4000)


class PatronatoOfficeInput(StrictSchema):
    ente = Line(20, required=True, validators=[OFFICE_CODE_SHAPE])
    ufficio = Line(20, required=True, validators=[OFFICE_CODE_SHAPE])


class RecipientInput(StrictSchema):
    kind = fields.String(
        required=True,
        validate=validate.OneOf(
            ["azienda", "intermediario", "patronato"], error="Destinatario non valido: usare {choices}."
        ),
    )
    matricola = Line(20)
    codice_fiscale = Line(16, validators=[CODICE_FISCALE_SHAPE])
    patronato = fields.Nested(PatronatoOfficeInput, load_default=None, allow_none=True)
    contacts = fields.Nested(ContactsInput, load_default=dict)


class OutboundInput(StrictSchema):
    recipient = fields.Nested(RecipientInput, required=True)
    subject = Line(300, required=True, min_length=1)
    text = Text(10000, required=True, min_length=1)
    request_id = fields.UUID(
        load_default=None, allow_none=True, metadata={"description": "la richiesta a cui si risponde"}
    )


class ReferenteProfileInput(StrictSchema):
    referente_regionale = fields.Boolean(
        required=True, metadata={"description": "true concede, false revoca il profilo"}
    )


# ---- loading input at an edge ---------------------------------------------------------


def load(schema_cls, data: dict, prefix: str = "") -> dict:
    """Load input with a contract schema; shape errors become InvalidInput naming each field."""
    try:
        return schema_cls().load(data)
    except ValidationError as exc:
        errors = []
        for path, message in _flatten(exc.messages, prefix):
            errors.append(field_error(path, "invalid_field", message))
        raise InvalidInput.from_errors(errors) from None


def _flatten(messages, prefix=""):
    if isinstance(messages, dict):
        for key, value in messages.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            yield from _flatten(value, path)
    elif isinstance(messages, list) and messages and all(isinstance(m, str) for m in messages):
        yield prefix, " ".join(_italian(m) for m in messages)
    elif isinstance(messages, list):
        for item in messages:
            yield from _flatten(item, prefix)
    else:
        yield prefix, _italian(str(messages))


_MESSAGES_IT = {
    "Missing data for required field.": "Campo obbligatorio.",
    "Unknown field.": "Campo non previsto.",
    "Not a valid string.": "Deve essere un testo.",
    "Not a valid UUID.": "Identificativo non valido.",
    "Not a valid list.": "Deve essere un elenco.",
    "Invalid input type.": "Tipo di dato non valido.",
    "Field may not be null.": "Il campo non può essere nullo.",
    "Not a valid integer.": "Deve essere un numero intero.",
    "Not a valid boolean.": "Deve essere true o false.",
    "Not a valid date.": "Data non valida (AAAA-MM-GG).",
    "Not a valid email address.": "Indirizzo e-mail non valido.",
    "Invalid value.": "Valore non valido.",
    "Number too large.": "Numero troppo grande.",
}


def _italian(message: str) -> str:
    return _MESSAGES_IT.get(message, message)


def check_operator_id(operator_id: str) -> str:
    """The ``sub`` of a patronato operator named in a path: the same bounds as a token's."""
    if not operator_id or len(operator_id) > SUB_MAX or not _NO_CONTROL.match(operator_id):
        raise InvalidInput.from_errors(
            [
                field_error(
                    "operator_id",
                    "invalid_operator_id",
                    f"Identificativo dell'operatore non valido (1-{SUB_MAX} caratteri).",
                )
            ]
        )
    return operator_id


# =============================================================================================
# ---- Agenda Appuntamenti (issue 9) ------------------------------------------------------------
# The shapes of agenda's RPC inputs (and, later, of the gateway's appointment routes). The
# rules (2 codici fiscali at most, motivazione, web meeting contact, modality and topic the
# punto offers) live in services/agenda/rules.
# =============================================================================================

APPOINTMENT_MODALITIES = ("in_person", "phone", "web_meeting")
APPOINTMENT_STATES = ("confirmed", "held", "no_show", "cancelled_by_requester", "cancelled_by_office")
SEDE_CODE_SHAPE = validate.Regexp(r"^[0-9]{4}\Z", error="Codice sede non valido (4 cifre).")
PUNTO_ID_SHAPE = validate.Regexp(r"^[A-Za-z0-9_-]{1,20}\Z", error="Identificativo del punto non valido.")
_MODALITY = validate.OneOf(APPOINTMENT_MODALITIES, error="Modalità non valida: usare {choices}.")


class PuntiFilters(StrictSchema):
    sede = Line(4, validators=[SEDE_CODE_SHAPE])
    modality = fields.String(load_default=None, allow_none=True, validate=_MODALITY)
    topic = Line(60)


def RequiredDay(**kwargs) -> fields.Date:
    return fields.Date(
        required=True,
        validate=validate.Range(
            min=FIRST_DAY, max=LAST_DAY, error="La data deve essere tra il 1900 e il 2100."
        ),
        error_messages={"invalid": "Data non valida (AAAA-MM-GG).", "required": "Campo obbligatorio."},
        **kwargs,
    )


class AvailabilityQuery(StrictSchema):
    punto_id = Line(20, required=True, validators=[PUNTO_ID_SHAPE])
    # "from" is a Python keyword: on the wire "from" and "to", loaded as from_day and to_day
    from_day = RequiredDay(data_key="from")
    to_day = RequiredDay(data_key="to")
    modality = fields.String(load_default=None, allow_none=True, validate=_MODALITY)
    topic = Line(60)


class AppointmentContactInput(StrictSchema):
    email = fields.Email(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=254),
        error_messages={"invalid": "Indirizzo e-mail non valido."},
    )
    phone = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Regexp(r"^\+?[0-9]{6,15}\Z", error="Numero di telefono non valido."),
    )


class BookingInput(StrictSchema):
    request_id = fields.UUID(load_default=None, allow_none=True)
    punto_id = Line(20, required=True, validators=[PUNTO_ID_SHAPE])
    slot_start = fields.AwareDateTime(
        required=True, format="iso", error_messages={"invalid": "Data e ora non valide (ISO 8601 con fuso)."}
    )
    modality = fields.String(required=True, validate=_MODALITY)
    topic = Line(60, required=True, min_length=1)
    # at most 2 (the rule says so, with its own code); the bound here only stops abuse
    codici_fiscali = fields.List(
        Line(16, required=True, validators=[CODICE_FISCALE_SHAPE]),
        required=True,
        validate=validate.Length(max=10),
    )
    contact = fields.Nested(AppointmentContactInput, load_default=None, allow_none=True)
    motivazione = Text(2000)
    attachments = fields.List(fields.UUID(), load_default=list, validate=validate.Length(max=3))
    matricola = Line(20)


class AppointmentFilters(StrictSchema):
    from_day = Day(data_key="from")
    to_day = Day(data_key="to")
    codice_fiscale = Line(16, validators=[CODICE_FISCALE_SHAPE])
    state = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.OneOf(APPOINTMENT_STATES, error="Stato non valido: usare {choices}."),
    )
    punto_id = Line(20, validators=[PUNTO_ID_SHAPE])
    page = fields.Integer(
        load_default=1, validate=validate.Range(min=1, max=MAX_PAGE, error="La pagina va da {min} a {max}.")
    )
    page_size = fields.Integer(
        load_default=20,
        validate=validate.Range(min=1, max=100, error="Da {min} a {max} elementi per pagina."),
    )


class AppointmentCancelInput(StrictSchema):
    reason = Text(1000)


class AppointmentOutcomeInput(StrictSchema):
    outcome = fields.String(
        required=True,
        validate=validate.OneOf(("held", "no_show"), error="Esito non valido: usare {choices}."),
    )
    note = Text(2000)


class CalendarExceptionInput(StrictSchema):
    day = RequiredDay()
    kind = fields.String(
        required=True, validate=validate.OneOf(("closed", "extra"), error="Tipo non valido: usare {choices}.")
    )
    hours = Line(11, metadata={"description": "HH:MM-HH:MM; vuoto = tutto il giorno (solo chiusure)"})
    reason = Line(300)


class AvailabilityInput(StrictSchema):
    weekly = Line(500, metadata={"description": "mon=09:00-12:30,14:30-16:00;wed=09:00-12:30"})
    slot_minutes = fields.Integer(load_default=None, allow_none=True)
    add_exceptions = fields.List(
        fields.Nested(CalendarExceptionInput), load_default=list, validate=validate.Length(max=100)
    )
    remove_exceptions = fields.List(fields.UUID(), load_default=list, validate=validate.Length(max=100))


class DayViewQuery(StrictSchema):
    punto_id = Line(20, required=True, validators=[PUNTO_ID_SHAPE])
    day = RequiredDay()
    days = fields.Integer(
        load_default=1, validate=validate.OneOf((1, 7), error="Un giorno (1) o una settimana (7).")
    )
