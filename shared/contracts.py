"""Shapes of the data that cross the gateway → service RPC boundary.

The gateway uses these schemas to read HTTP bodies and to generate the OpenAPI document;
the services load the same shapes at their RPC edge (a service never trusts its caller).
Only shapes and formats live here: the rules (which subject needs which identifier, which
CAP exists, who may do what) live in each service's domain.
"""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate

from shared.errors import InvalidInput, field_error

ROLES = (
    "azienda",
    "intermediario",
    "patronato_operatore",
    "patronato_referente",
    "patronato_admin",
    "sede_operatore",
    "direttore",
    "admin",
)

# Roles that write requests (companies, intermediaries, patronato operators and referenti).
REQUESTER_ROLES = ("azienda", "intermediario", "patronato_operatore", "patronato_referente")
# The group that enables a sede official to "Comunicazione Bidirezionale" (messaggio 1986/2011).
OFFICIAL_GROUP = "APP_FEA_COMBID"

IDENTIFIER_KINDS = ("protocollo", "domus", "pensione")


class StrictSchema(Schema):
    class Meta:
        unknown = "raise"


class CallerSchema(StrictSchema):
    """Who is calling: taken by the gateway from the verified JWT, never from the body."""

    sub = fields.String(required=True)
    name = fields.String(load_default="")
    email = fields.String(load_default=None, allow_none=True)
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    codice_fiscale = fields.String(load_default=None, allow_none=True)
    matricole = fields.List(fields.String(), load_default=list)
    patronato = fields.String(load_default=None, allow_none=True)
    ufficio = fields.String(load_default=None, allow_none=True)
    sede = fields.String(load_default=None, allow_none=True)
    regione = fields.String(load_default=None, allow_none=True)
    groups = fields.List(fields.String(), load_default=list)


class CaseIdentifierInput(StrictSchema):
    kind = fields.String(
        required=True,
        validate=validate.OneOf(IDENTIFIER_KINDS, error="Tipo di identificativo non ammesso: usare {choices}."),
        metadata={"description": "protocollo | domus | pensione"},
    )
    value = fields.String(required=True, validate=validate.Length(min=1, max=40))


class CitizenInput(StrictSchema):
    codice_fiscale = fields.String(required=True, metadata={"description": "Codice fiscale del cittadino (16 caratteri)"})
    cap = fields.String(required=True, metadata={"description": "CAP di residenza"})


class ContactsInput(StrictSchema):
    email = fields.Email(load_default=None, allow_none=True, error_messages={"invalid": "Indirizzo e-mail non valido."})
    sms = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Regexp(r"^\+?\d{8,15}$", error="Numero di cellulare non valido."),
    )


class RequestSubmissionInput(StrictSchema):
    subject = fields.String(required=True, metadata={"description": "Codice dell'oggetto (vedi GET /api/v1/subjects)"})
    text = fields.String(required=True, validate=validate.Length(min=1, max=10000, error="Il testo deve essere tra {min} e {max} caratteri."))
    case_identifier = fields.Nested(CaseIdentifierInput, load_default=None, allow_none=True)
    citizen = fields.Nested(CitizenInput, load_default=None, allow_none=True)
    matricola = fields.String(load_default=None, allow_none=True)
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
    download_url = fields.String(metadata={"description": "Link temporaneo (5 minuti)"})


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
    matricola = fields.String(load_default=None)
    subject = fields.String(load_default=None)
    state = fields.String(load_default=None, validate=validate.OneOf(["open", "in_progress", "closed"], error="Stato non valido: usare {choices}."))
    origin = fields.String(
        load_default=None,
        validate=validate.OneOf(["cassetto", "patronato", "fax", "contact_center", "sede"], error="Provenienza non valida: usare {choices}."),
    )
    codice_fiscale = fields.String(load_default=None, metadata={"description": "codice fiscale del cittadino"})
    consulente = fields.String(load_default=None, metadata={"description": "codice fiscale dell'intermediario"})
    opened_from = fields.Date(load_default=None, error_messages={"invalid": "Data non valida (AAAA-MM-GG)."})
    opened_to = fields.Date(load_default=None, error_messages={"invalid": "Data non valida (AAAA-MM-GG)."})
    updated_from = fields.Date(load_default=None, error_messages={"invalid": "Data non valida (AAAA-MM-GG)."})
    updated_to = fields.Date(load_default=None, error_messages={"invalid": "Data non valida (AAAA-MM-GG)."})
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, error="La pagina parte da 1."))
    page_size = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100, error="Da {min} a {max} elementi per pagina."))


class CommentInput(StrictSchema):
    comment = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=4000))


class ReplyInput(CommentInput):
    text = fields.String(required=True, validate=validate.Length(min=1, max=10000))
    close = fields.Boolean(load_default=False, metadata={"description": "chiude la richiesta con questo esito"})
    outcome = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=4000))
    enable_booking = fields.Boolean(load_default=False)


class CloseInput(CommentInput):
    outcome = fields.String(required=True, validate=validate.Length(min=1, max=4000, error="Indicare l'esito."))
    enable_booking = fields.Boolean(load_default=False, metadata={"description": "consente al richiedente di prenotare un appuntamento"})


class SubjectChangeInput(CommentInput):
    subject = fields.String(required=True)


class FollowupInput(StrictSchema):
    text = fields.String(required=True, validate=validate.Length(min=1, max=10000))


class ReminderInput(StrictSchema):
    text = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=4000))


class PatronatoOfficeInput(StrictSchema):
    ente = fields.String(required=True)
    ufficio = fields.String(required=True)


class RecipientInput(StrictSchema):
    kind = fields.String(required=True, validate=validate.OneOf(["azienda", "intermediario", "patronato"], error="Destinatario non valido: usare {choices}."))
    matricola = fields.String(load_default=None, allow_none=True)
    codice_fiscale = fields.String(load_default=None, allow_none=True)
    patronato = fields.Nested(PatronatoOfficeInput, load_default=None, allow_none=True)
    contacts = fields.Nested(ContactsInput, load_default=dict)


class OutboundInput(StrictSchema):
    recipient = fields.Nested(RecipientInput, required=True)
    subject = fields.String(required=True, validate=validate.Length(min=1, max=300))
    text = fields.String(required=True, validate=validate.Length(min=1, max=10000))
    request_id = fields.UUID(load_default=None, allow_none=True, metadata={"description": "la richiesta a cui si risponde"})


class ReferenteProfileInput(StrictSchema):
    referente_regionale = fields.Boolean(required=True, metadata={"description": "true concede, false revoca il profilo"})


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
}


def _italian(message: str) -> str:
    return _MESSAGES_IT.get(message, message)
