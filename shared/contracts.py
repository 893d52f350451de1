"""Shapes of the data that cross the gateway: what the HTTP API reads and what it answers.

The gateway loads every input with these schemas, dumps every JSON answer through them
(``dump``: a field the schema does not declare never leaves the gateway) and generates
its OpenAPI document from the same classes (``gateway/openapi.py``): the document is what
the API does. The services load the same input shapes at their RPC edge (a service never
trusts its caller). Only shapes and formats live here: the rules (which subject needs
which identifier, which CAP exists, who may do what) live in each service's domain, and
what they refuse is listed in the document as the operation's business-rule answers.
"""

from __future__ import annotations

import functools
import re
from datetime import date

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from shared.access import (  # noqa: F401 - one definition
    DASHBOARD_LEVELS,
    DASHBOARD_NATIONAL,
    DASHBOARD_REGION,
    DASHBOARD_SEDE,
    OFFICIAL_GROUP,
    REQUESTER_ROLES,
    ROLES,
    SUB_MAX,
)
from shared.errors import InvalidInput, field_error
from shared.events import ASSIGNMENT_KINDS
from shared.identifiers import MATRICOLA_PATTERN
from shared.paging import CURSOR_MAX_LENGTH, InvalidCursor, decode_cursor
from shared.vocabulary import CRIC_SECTIONS, HISTORY_STEPS, NOTICE_KINDS, ORIGINS, SLA_DAYS, STATES

IDENTIFIER_KINDS = ("protocollo", "domus", "pensione")
# Dates outside these bounds are typing mistakes, and would overflow date arithmetic.
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(2100, 12, 31)
MAX_PAGE = 10_000
# Searches: numbered pages cover the first results (OFFSET reads every row it skips), totals
# are exact up to a count (services/intake/search.py counts that far, then estimates).
MAX_OFFSET = 10_000
COUNT_EXACT_UP_TO = 1000


def _thousands(number: int) -> str:
    """10.000, as Italian readers write it."""
    return f"{number:,}".replace(",", ".")


# The kinds of sede of routing's reference data (a unit test keeps them equal to routing's).
SEDE_TYPES = (
    "direzione_regionale",
    "direzione_provinciale",
    "direzione_coordinamento_metropolitano",
    "filiale_metropolitana",
    "agenzia_complessa",
    "agenzia_territoriale",
)
MESSAGE_KINDS = ("answer", "followup", "reminder")
# No control characters in any field (PostgreSQL refuses NUL; the others garble logs and
# mails); free texts keep newlines and tabs.
_NO_CONTROL = re.compile(r"^[^\x00-\x1f\x7f]*\Z")
_TEXT_NO_CONTROL = re.compile(r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*\Z")
# every other pattern of an input field (digits, letters) excludes control characters too, so
# the document shows that one where a field has both
NO_CONTROL_PATTERNS = frozenset({_NO_CONTROL.pattern, _TEXT_NO_CONTROL.pattern})


class StrictSchema(Schema):
    """An input: a field it does not declare is refused ("Campo non previsto."), and the
    document says so (``additionalProperties: false``)."""

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


class StrictBoolean(fields.Boolean):
    """JSON ``true`` or ``false`` and nothing else: marshmallow's Boolean would also take
    "yes", "1" or 0, which the document (``type: boolean``) does not allow."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


class StrictInteger(fields.Integer):
    """A JSON integer and nothing else: marshmallow's Integer would also take "30", 30.0 or
    true, which the document (``type: integer``) does not allow."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.make_error("invalid", input=value)
        return super()._deserialize(value, attr, data, **kwargs)


CODICE_FISCALE_SHAPE = validate.Regexp(
    r"^[A-Za-z0-9]{11,16}\Z", error="Codice fiscale non valido (11 o 16 caratteri)."
)
OFFICE_CODE_SHAPE = validate.Regexp(
    r"^[A-Za-z0-9]{1,20}\Z", error="Codice non valido: da 1 a 20 lettere o cifre."
)


# ---- what the API reads -----------------------------------------------------------------


class CaseIdentifierInput(StrictSchema):
    kind = fields.String(
        required=True,
        validate=validate.OneOf(
            IDENTIFIER_KINDS, error="Tipo di identificativo non ammesso: usare {choices}."
        ),
        metadata={"description": "protocollo | domus | pensione"},
    )
    value = Line(
        40,
        required=True,
        min_length=1,
        metadata={
            "description": "INPS.<sede>.<gg/mm/aaaa>.<7 cifre> | 8-12 cifre (Domus) | "
            "categoria e numero (pensione); il formato è verificato dalla regola dell'oggetto"
        },
    )


class CitizenInput(StrictSchema):
    codice_fiscale = Line(
        20,
        required=True,
        metadata={
            "description": "Codice fiscale del cittadino (16 caratteri, carattere di controllo verificato)",
            "example": "RSSMRA85T10A562S",
        },
    )
    cap = Line(
        10,
        required=True,
        metadata={"description": "CAP di residenza (5 cifre, di un comune esistente)", "example": "00184"},
    )


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
    matricola = Line(20, metadata={"description": "Matricola aziendale (10 cifre), richieste del cassetto"})
    attachments = fields.List(
        fields.UUID(),
        load_default=list,
        validate=validate.Length(max=20),
        metadata={"description": "Identificativi degli allegati caricati (POST /api/v1/attachments)"},
    )
    parent_id = fields.UUID(
        load_default=None, allow_none=True, metadata={"description": "Richiesta precedente collegata"}
    )
    contacts = fields.Nested(ContactsInput, load_default=dict)
    cric_section = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.OneOf(list(CRIC_SECTIONS), error="Sezione CRIC non valida: usare {choices}."),
        metadata={
            "description": "Sezione del CRIC a cui si rivolge il referente regionale (obbligatoria per "
            "le sue richieste, senza cittadino): pensioni | sostegno_reddito | soggetto_contribuente"
        },
    )


class Paging(StrictSchema):
    """``page`` and ``page_size`` of every paginated list."""

    page = fields.Integer(
        load_default=1, validate=validate.Range(min=1, max=MAX_PAGE, error="La pagina va da {min} a {max}.")
    )
    page_size = fields.Integer(
        load_default=20,
        validate=validate.Range(min=1, max=100, error="Da {min} a {max} elementi per pagina."),
    )


class CursorField(fields.String):
    """An opaque cursor of keyset pagination (``shared.paging``), loaded as the sort key it names."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return decode_cursor(text)
        except InvalidCursor:
            raise ValidationError(
                RuleMessage(
                    "invalid_cursor", "Cursore non valido: usare il next_cursor di una risposta, così com'è."
                )
            ) from None


# what a search refuses that the document's shapes cannot say (x-business-rules of the route)
SEARCH_RULES = ("invalid_cursor", "page_with_cursor", "page_too_deep")


class SearchFilters(Paging):
    page = fields.Integer(
        load_default=1,
        validate=validate.Range(min=1, max=MAX_PAGE, error="La pagina va da {min} a {max}."),
        metadata={
            "description": f"pagina numerata, per i primi {_thousands(MAX_OFFSET)} risultati ((page - 1) × "
            "page_size); oltre si prosegue con cursor"
        },
    )
    cursor = CursorField(
        load_default=None,
        allow_none=True,
        metadata={
            "description": "prosegue dopo l'ultima richiesta della pagina che ha dato questo "
            "next_cursor (stesso ordine delle pagine numerate, a qualsiasi profondità); non si usa con page",
            "maxLength": CURSOR_MAX_LENGTH,
            "pattern": "^[A-Za-z0-9_-]+$",
        },
    )
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
    queue = Line(
        100,
        metadata={
            "description": "coda di lavoro in cui l'instradamento ha messo la richiesta: l'area "
            "(pensioni, soggetto_contribuente, …) o la sezione del CRIC"
        },
    )
    opened_from = Day()
    opened_to = Day()
    updated_from = Day()
    updated_to = Day()

    @validates_schema(pass_original=True)
    def page_or_cursor(self, data, original_data, **kwargs):
        """Numbered pages stop where OFFSET gets slow; a cursor goes on from anywhere."""
        if data.get("cursor") is not None and "page" in original_data:
            raise ValidationError(
                RuleMessage("page_with_cursor", "Con cursor non si indica la pagina."), field_name="page"
            )
        if data.get("cursor") is None and (data["page"] - 1) * data["page_size"] >= MAX_OFFSET:
            raise ValidationError(
                RuleMessage(
                    "page_too_deep",
                    f"Le pagine numerate coprono i primi {_thousands(MAX_OFFSET)} risultati: oltre, "
                    "proseguire con cursor (il next_cursor dell'ultima pagina letta).",
                ),
                field_name="page",
            )


class CommentInput(StrictSchema):
    comment = Text(4000)


class ReplyInput(CommentInput):
    text = Text(10000, required=True, min_length=1)
    close = StrictBoolean(
        load_default=False, metadata={"description": "chiude la richiesta con questo esito"}
    )
    outcome = Text(4000, metadata={"description": "esito: obbligatorio (non vuoto) con close"})
    enable_booking = StrictBoolean(load_default=False)


class CloseInput(CommentInput):
    outcome = Text(4000, required=True, min_length=1, metadata={"description": "esito (non solo spazi)"})
    enable_booking = StrictBoolean(
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
    referente_regionale = StrictBoolean(
        required=True, metadata={"description": "true concede, false revoca il profilo"}
    )


class AttachmentUpload(StrictSchema):
    """The multipart form of an upload: one part, ``file``, and nothing else."""

    file = fields.Raw(
        required=True,
        metadata={
            "type": "string",
            "format": "binary",
            "description": "Il file (al massimo 6 MB); il tipo è riconosciuto dal contenuto",
        },
    )


# Path parameters: documented from these; the gateway and the services answer 404 for an id
# that is not a UUID, like for one that does not exist.
class RequestPath(StrictSchema):
    request_id = fields.UUID(required=True)


class AttachmentPath(RequestPath):
    attachment_id = fields.UUID(required=True)


class OperatorPath(StrictSchema):
    operator_id = Line(
        SUB_MAX, required=True, min_length=1, metadata={"description": "il sub del token dell'operatore"}
    )


# ---- routing's input (the same shapes routing loads at its RPC edge) ----------------------

_ROUTING_REQUIRED = {"required": "Campo obbligatorio.", "null": "Campo obbligatorio."}
_ROUTING_DAY = {"invalid": "Data non valida: usare AAAA-MM-GG."}
_ROUTING_DAY_RANGE = validate.Range(
    min=FIRST_DAY, max=LAST_DAY, error="La data deve essere tra il 1900 e il 2100."
)
ROUTING_TEXT_MAX = 200  # no routing input is longer; anything longer is refused before it is looked up
_routing_bounded = validate.Length(max=ROUTING_TEXT_MAX, error="Al massimo {max} caratteri.")


class RoutingInput(StrictSchema):
    error_messages = {"unknown": "Campo non previsto."}


def _routing_text(required: bool = False, validate=None, **kwargs) -> fields.String:
    checks = [validate] if validate is not None else []
    kwargs["validate"] = checks + [_routing_bounded, no_control_characters()]
    if required:
        return fields.String(required=True, error_messages=_ROUTING_REQUIRED, **kwargs)
    return fields.String(load_default=None, **kwargs)


def _routing_day(description: str) -> fields.Date:
    return fields.Date(
        load_default=None,
        error_messages=_ROUTING_DAY,
        validate=_ROUTING_DAY_RANGE,
        metadata={"description": description},
    )


class ExplainQuery(RoutingInput):
    """A dry run: the request routing would see, and optionally the day to decide on."""

    channel = _routing_text(
        True,
        validate=validate.Length(min=1, max=40),
        metadata={"description": "combipat | cassetto | linea_inps"},
    )
    profile = _routing_text(
        True,
        validate=validate.Length(min=1, max=40),
        metadata={"description": "operatore_generico | referente_regionale | azienda | intermediario"},
    )
    subject = _routing_text(True, validate=validate.Length(min=1, max=100))
    area = _routing_text(validate=validate.Length(max=100))
    cap = _routing_text(validate=validate.Regexp(r"^[0-9]{5}\Z", error="Il CAP deve essere di 5 cifre."))
    matricola = _routing_text(
        validate=validate.Regexp(MATRICOLA_PATTERN, error="La matricola deve essere di 10 cifre.")
    )
    ente = _routing_text(
        validate=validate.Length(min=1, max=20), metadata={"description": "codice ente del patronato"}
    )
    ufficio = _routing_text(
        validate=validate.Length(min=1, max=20), metadata={"description": "codice ufficio del patronato"}
    )
    cric_section = _routing_text(
        validate=validate.OneOf(list(CRIC_SECTIONS), error="Sezione CRIC non valida: usare {choices}."),
        metadata={"description": "sezione CRIC indicata dal referente regionale o dalla scheda Linea INPS"},
    )
    region = _routing_text(
        validate=validate.Length(min=1, max=60),
        metadata={"description": "regione indicata dalla scheda Linea INPS (canale linea_inps)"},
    )
    on = _routing_day("giorno della decisione, predefinito oggi")


class SediQuery(RoutingInput):
    on = _routing_day("sedi in vigore in questo giorno, predefinito oggi")
    region = _routing_text()
    type = _routing_text(
        validate=validate.OneOf(SEDE_TYPES, error="Tipo di sede non valido: usare {choices}.")
    )


class ReassignmentInput(RoutingInput):
    sede = _routing_text(
        True,
        validate=validate.Regexp(r"^[0-9]{4}\Z", error="Il codice sede deve essere di 4 cifre."),
        metadata={"description": "codice della sede (o del CRIC) di destinazione", "example": "0703"},
    )
    reason = _routing_text(
        True,
        validate=validate.Length(
            min=3, max=1000, error="La motivazione deve essere tra {min} e {max} caratteri."
        ),
        metadata={"description": "motivazione della riassegnazione"},
    )


# ---- what the API answers ---------------------------------------------------------------
#
# Every field a route returns is declared here, with its type and whether it may be null;
# ``dump`` drops (and reports) anything else. Output schemas are marshmallow's default
# (unknown fields raise), so the document says ``additionalProperties: false`` for them
# too, except where an object is free-form by design (``fields.Dict()``).


def _text(*, nullable: bool = False, required: bool = True, enum=None, fmt=None, **metadata) -> fields.String:
    if fmt:
        metadata["format"] = fmt
    return fields.String(
        required=required,
        allow_none=nullable,
        validate=validate.OneOf(list(enum)) if enum else None,
        metadata=metadata,
    )


def Id(*, nullable: bool = False, required: bool = True, **metadata) -> fields.String:
    """A UUID, as text (dumped as given, never parsed on the way out)."""
    return _text(nullable=nullable, required=required, fmt="uuid", **metadata)


def Instant(*, nullable: bool = False, required: bool = True, **metadata) -> fields.String:
    """A moment, ISO 8601 with its offset."""
    return _text(nullable=nullable, required=required, fmt="date-time", **metadata)


def DayOut(*, nullable: bool = False, required: bool = True, **metadata) -> fields.String:
    """A calendar day, AAAA-MM-GG."""
    return _text(nullable=nullable, required=required, fmt="date", **metadata)


def _int(*, nullable: bool = False, required: bool = True, **metadata) -> fields.Integer:
    return fields.Integer(required=required, allow_none=nullable, metadata=metadata)


def _bool(*, nullable: bool = False, required: bool = True, **metadata) -> fields.Boolean:
    return fields.Boolean(required=required, allow_none=nullable, metadata=metadata)


def _list(inner, **metadata) -> fields.List:
    return fields.List(inner, required=True, metadata=metadata)


def _nested(schema, *, nullable: bool = False, required: bool = True, **metadata) -> fields.Nested:
    return fields.Nested(schema, required=required, allow_none=nullable, metadata=metadata)


class FieldErrorOutput(Schema):
    field = _text(description="il campo in errore, con il percorso: citizen.cap")
    code = _text(description="invalid_field per la forma; il codice della regola altrimenti")
    detail = _text()


class ProblemOutput(Schema):
    """RFC 9457, with the extension members the API uses."""

    type = _text(description="URI del tipo di problema")
    title = _text()
    status = _int()
    code = _text(description="Codice stabile per i programmi")
    detail = _text(description="Spiegazione in italiano per le persone")
    errors = fields.List(fields.Nested(FieldErrorOutput), metadata={"description": "Campi non validi"})
    followups_left = _int(required=False, description="followups_exhausted: 0")
    reminder_allowed_from = DayOut(required=False, description="reminder_too_early: il primo giorno utile")
    claims = fields.List(
        fields.String(), metadata={"description": "invalid_claims: i claim del token in errore"}
    )
    checks = fields.Dict(
        keys=fields.String(),
        values=_text(enum=("ok", "failing")),
        metadata={"description": "not_ready: ogni servizio, ok o failing"},
    )
    reason_code = _text(required=False, description="booking_not_allowed: il motivo, come codice stabile")
    booking_possible_from = DayOut(
        required=False, description="booking_not_allowed: il giorno da cui la prenotazione sarà possibile"
    )
    sede = _text(required=False, description="not_competent_sede: la sede di competenza della richiesta")


class HealthOutput(Schema):
    status = _text(enum=("ok",))


class ReadyOutput(Schema):
    status = _text(enum=("ready",))
    checks = fields.Dict(
        keys=fields.String(),
        values=_text(enum=("ok", "failing")),
        required=True,
        metadata={"description": "Per servizio: ok | failing (il motivo è nel log del gateway)"},
    )


class SubjectRefOutput(Schema):
    code = _text()
    label = _text()


class ChannelRulesOutput(Schema):
    followups_after_first_answer = _int(
        description="ulteriori interazioni dopo la prima risposta; 0: si prosegue con richieste concatenate"
    )
    reminder_after_days = _int(
        nullable=True, description="sollecito dal giorno n senza risposta; null: il canale non lo prevede"
    )
    source = _text(description="la fonte della regola")


class SubjectOutput(Schema):
    code = _text()
    label = _text()
    channel = _text()
    profiles = _list(fields.String())
    catalog_version = _text()
    identifier_required = _bool()
    identifier_kinds = _list(_text(enum=IDENTIFIER_KINDS))
    sla_days = _int(nullable=True, description="Giorni per chiudere; null: comunicazione non misurata")
    sla_days_source = _text(
        nullable=True,
        enum=("seed", "default"),
        description="seed: soglia fissata da un documento di origine; default: valore predefinito del "
        "catalogo (i seed fissano le soglie 5/10/15/25, non quale oggetto ha quale)",
    )
    source = _text(description="il documento da cui viene l'oggetto")
    area = _text()
    cric_sections = _list(
        fields.Nested(SubjectRefOutput),
        description="sezioni del CRIC tra cui sceglie il referente regionale (cric_section), o vuoto",
    )
    channel_rules = _nested(ChannelRulesOutput, description="regole del canale dopo l'invio, con la fonte")


class AttachmentResult(Schema):
    id = Id()
    filename = _text(description="Nome ripulito, con l'estensione del tipo riconosciuto")
    content_type = _text()
    size = _int(description="Byte")


class SubmissionResult(Schema):
    id = Id()
    protocol = _text(example="COMBID.2026.00000001")
    state = _text(enum=STATES)


class RequestSubjectOutput(Schema):
    code = _text()
    label = _text()
    catalog_version = _text()
    sla_days = _int(nullable=True)


class AssignmentOutput(Schema):
    """Where a request is and why; officials also see the work queue and the region."""

    kind = _text(enum=ASSIGNMENT_KINDS)
    code = _text()
    name = _text()
    reason = _text()
    queue = _text(required=False, description="coda di lavoro (operatori, direttori, amministratori)")
    region = _text(nullable=True, required=False, description="regione della struttura (operatori)")


class RequestSummary(Schema):
    id = Id()
    protocol = _text()
    origin = _text(enum=ORIGINS)
    channel = _text()
    profile = _text()
    subject = _nested(RequestSubjectOutput)
    state = _text(enum=STATES)
    matricola = _text(nullable=True)
    consulente = _text(nullable=True, description="codice fiscale dell'intermediario")
    citizen_codice_fiscale = _text(nullable=True)
    assigned_sede = _text(nullable=True)
    submitted_at = Instant()
    updated_at = Instant()
    closed_at = Instant(nullable=True)


class SearchResult(Schema):
    items = _list(fields.Nested(RequestSummary))
    page = _int(nullable=True, description="null: pagina chiesta con cursor")
    page_size = _int()
    total = _int(
        description=f"richieste trovate: esatte fino a {_thousands(COUNT_EXACT_UP_TO)}, "
        "oltre una stima (total_is_estimate)"
    )
    total_is_estimate = _bool(
        description="true: total è la stima del database (le richieste sono più di "
        f"{_thousands(COUNT_EXACT_UP_TO)}), non un conteggio"
    )
    next_cursor = _text(
        nullable=True,
        description="da passare come cursor per la pagina seguente; null: non ce ne sono altre",
    )


class CaseIdentifierOutput(Schema):
    kind = _text(enum=IDENTIFIER_KINDS)
    value = _text()


class CitizenOutput(Schema):
    codice_fiscale = _text()
    cap = _text(nullable=True, description="null: una scheda Linea INPS indica il cittadino senza residenza")


class PatronatoOfficeOutput(Schema):
    ente = _text()
    ufficio = _text(nullable=True)


class ThreadMessageOutput(Schema):
    id = Id()
    kind = _text(enum=MESSAGE_KINDS)
    author = _text()
    author_role = _text()
    text = _text()
    at = Instant()


class SubjectChangeOutput(Schema):
    old = _nested(SubjectRefOutput)
    new = _nested(SubjectRefOutput)


class StateChangeOutput(Schema):
    """One step of the history: a change of state, or a step that left the state as it was
    but carries a comment (an answer) or a change of subject."""

    from_state = _text(nullable=True, enum=STATES)
    to_state = _text(enum=STATES)
    step = _text(
        nullable=True,
        enum=HISTORY_STEPS,
        description="il passo registrato; null per le voci registrate prima che fosse indicato",
    )
    comment = _text(nullable=True, description="commento dell'operatore di sede")
    subject_change = _nested(
        SubjectChangeOutput, nullable=True, description="cambio oggetto per lavorazione: da, a"
    )
    actor = _text()
    at = Instant()


class AttachmentOutput(Schema):
    id = Id()
    filename = _text()
    content_type = _text()
    size = _int()
    download_url = _text(
        description="Percorso di download nel gateway, con la stessa autorizzazione del dettaglio"
    )


class NextActionsOutput(Schema):
    followups_left = _int(description="ulteriori interazioni ancora possibili dopo la prima risposta")
    can_follow_up = _bool()
    can_remind = _bool()
    reminder_allowed_from = DayOut(nullable=True, description="dal giorno in cui si può sollecitare")


class BookingOutput(Schema):
    allowed = _bool(nullable=True, description="null: servizio appuntamenti non disponibile")
    reason_code = _text()
    reason = _text()


CHAIN_DIRECTIONS = ("from_requester", "from_sede", "from_contact_center")


class ChainedRequestOutput(Schema):
    """A request of the same conversation: the one replied to, or a reply."""

    id = Id()
    protocol = _text()
    origin = _text(enum=ORIGINS)
    direction = _text(
        enum=CHAIN_DIRECTIONS,
        description="chi l'ha scritta: il richiedente, la sede (comunicazione concatenata), il CCM",
    )
    subject = _nested(SubjectRefOutput)
    state = _text(enum=STATES)
    submitted_at = Instant()


class RequestDetail(RequestSummary):
    text = _text()
    case_identifier = _nested(CaseIdentifierOutput, nullable=True)
    citizen = _nested(CitizenOutput, nullable=True)
    patronato = _nested(PatronatoOfficeOutput, nullable=True)
    parent_id = Id(nullable=True)
    cric_section = _text(
        nullable=True, enum=tuple(CRIC_SECTIONS), description="sezione CRIC indicata dal referente regionale"
    )
    parent = _nested(
        ChainedRequestOutput,
        nullable=True,
        description="la richiesta a cui questa risponde, se il chiamante può vederla",
    )
    chained = _list(
        fields.Nested(ChainedRequestOutput),
        description="le richieste concatenate in risposta a questa (del richiedente e della sede), "
        "quelle che il chiamante può vedere, dalla più vecchia",
    )
    assignment = _nested(AssignmentOutput, nullable=True, description="null finché non è instradata")
    outcome = _text(nullable=True, description="esito, alla chiusura")
    booking_enabled = _bool(description="prenotazione abilitata dalla sede alla chiusura")
    thread = _list(fields.Nested(ThreadMessageOutput))
    state_history = _list(fields.Nested(StateChangeOutput))
    attachments = _list(fields.Nested(AttachmentOutput))
    next_actions = _nested(NextActionsOutput)
    booking = _nested(BookingOutput)


class StateResult(Schema):
    """Take in charge, close."""

    id = Id()
    state = _text(enum=STATES)


class ReplyResult(StateResult):
    message_id = Id()


class FollowupResult(Schema):
    id = Id()
    message_id = Id()
    followups_left = _int()


class ReminderResult(Schema):
    id = Id()
    reminders = _int(description="solleciti inviati finora")


class SubjectChangeResult(Schema):
    id = Id()
    subject = _text()
    sla_days = _int(nullable=True)


class OutboundResult(Schema):
    id = Id()
    protocol = _text()


class ReferenteProfileResult(Schema):
    operator = _text()
    patronato = _text()
    referente_regionale = _bool()
    changed_at = Instant()


# routing


class RuleCheckOutput(Schema):
    rule = _text(
        description="referente_regionale_cric | polo | operatore_generico_cap | cassetto_matricola | triage "
        "| manual_reassignment | manual_reassignment_kept"
    )
    outcome = _text(enum=("matched", "not_applicable", "not_resolved"))
    code = _text()
    detail = _text()


class RoutingFactsOutput(Schema):
    """What the rules looked at."""

    channel = _text(nullable=True)
    profile = _text(nullable=True)
    subject = _text(nullable=True)
    area = _text(nullable=True)
    cap = _text(nullable=True)
    matricola = _text(nullable=True)
    ente = _text(nullable=True)
    ufficio = _text(nullable=True)
    cric_section = _text(
        nullable=True,
        required=False,
        description="sezione CRIC indicata (assente nelle decisioni più antiche)",
    )
    region = _text(nullable=True, required=False, description="regione indicata da una scheda Linea INPS")


class DecisionOutput(Schema):
    assignment = _nested(AssignmentOutput)
    rule = _text()
    inputs = fields.Dict(required=True, metadata={"description": "i dati che la regola ha usato"})
    reference_version = _text()
    rule_chain = _list(fields.Nested(RuleCheckOutput))
    request = _nested(RoutingFactsOutput)


class ExplainedDecision(DecisionOutput):
    dry_run = _bool(description="sempre true: nulla è registrato")
    effective_day = DayOut(description="giorno dei dati di riferimento in vigore usati")


class ReplayOutput(Schema):
    reference_version = _text()
    available = _bool(description="false: la versione dei dati non è più disponibile")
    rule = _text(required=False)
    assignment = _nested(AssignmentOutput, required=False)
    same_decision = _bool(required=False)


class RecordedDecision(DecisionOutput):
    id = Id()
    request_id = Id()
    sequence = _int()
    trigger = _text(enum=("request_submitted", "request_subject_changed", "manual"))
    decided_at = Instant()
    effective_day = DayOut(nullable=True)
    previous = _nested(AssignmentOutput, nullable=True)
    emitted = _bool(description="se è stato emesso request_routed")


class ReplayedDecision(RecordedDecision):
    replay = _nested(
        ReplayOutput,
        nullable=True,
        description="la stessa decisione ricalcolata sulla versione registrata (null: decisione manuale)",
    )


class DecisionHistoryOutput(Schema):
    request_id = Id()
    current = _nested(ReplayedDecision)
    history = _list(fields.Nested(ReplayedDecision))


class SedeOutput(Schema):
    valid_from = DayOut(nullable=True)
    valid_to = DayOut(nullable=True)
    code = _text()
    name = _text()
    type = _text(enum=SEDE_TYPES)
    parent_code = _text(nullable=True)
    region = _text()
    province = _text(nullable=True)
    email = _text(nullable=True)
    province_wide = _bool(description="copre la provincia, tranne i comuni elencati per le sedi locali")
    comuni = _list(fields.String(), description="codici catastali dei comuni coperti (sedi locali)")


class CricOutput(Schema):
    valid_from = DayOut(nullable=True)
    valid_to = DayOut(nullable=True)
    code = _text()
    name = _text()
    region = _text()
    parent_code = _text()
    email = _text(nullable=True)


class SediOutput(Schema):
    reference_version = _text(nullable=True, description="null: nessun dato di riferimento caricato")
    on = DayOut()
    sedi = _list(fields.Nested(SedeOutput))
    cric = _list(fields.Nested(CricOutput))


class ReferenceVersionOutput(Schema):
    id = _text()
    loaded_at = Instant()
    source = _text()
    active = _bool()
    checksum = _text()
    counts = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)


class ReferenceVersionsOutput(Schema):
    active = _text(nullable=True)
    versions = _list(fields.Nested(ReferenceVersionOutput))


# operators' status (each service's ``ops_status``, summed up by the gateway)

SERVICE_STATUSES = ("ok", "degraded", "no_answer", "not_running", "failing", "unreachable")


class OutboxStatusOutput(Schema):
    pending = _int(description="eventi da pubblicare")
    oldest_pending_age_seconds = fields.Float(required=True, allow_none=True)
    parked = _int(description="eventi fermi dopo troppi tentativi")
    oldest_parked_age_seconds = fields.Float(required=True, allow_none=True)


class DeadLettersStatusOutput(Schema):
    total = _int(required=False)
    queues = fields.Dict(
        keys=fields.String(),
        values=fields.Integer(allow_none=True),
        metadata={"description": "messaggi per coda (null: coda non dichiarata)"},
    )
    error = _text(required=False, description="broker_unavailable: code non lette")


class ServiceStatusOutput(Schema):
    status = _text(enum=SERVICE_STATUSES)
    error = _text(required=False, description="perché il servizio non ha risposto")
    database = _text(required=False, description="ok, o il codice del guasto")
    outbox = _nested(OutboxStatusOutput, required=False)
    dead_letters = _nested(DeadLettersStatusOutput, required=False)
    unrouted_requests = _int(required=False, description="intake: richieste non ancora instradate")
    failed_deliveries = _int(required=False, description="notify: invii falliti")
    queued_deliveries = _int(required=False, description="notify: invii in coda o da ritentare")


class StatusTotalsOutput(Schema):
    outbox_parked = _int()
    dead_letters = _int()
    unrouted_requests = _int()
    failed_deliveries = _int()
    outbox_pending = _int()


class AdminStatusOutput(Schema):
    status = _text(enum=("ok", "degraded"))
    attention = _list(
        fields.String(),
        description="Codici da guardare: outbox_parked, dead_letters, unrouted_requests, "
        "failed_deliveries, service_<stato>",
    )
    totals = _nested(StatusTotalsOutput, description="Somme su tutti i servizi")
    services = fields.Dict(keys=fields.String(), values=fields.Nested(ServiceStatusOutput), required=True)


# ---- notifications (notify): the Notifiche inbox and the preferences ------------------------

_NOTICE_KIND = validate.OneOf(NOTICE_KINDS, error="Tipo di notifica non valido: usare {choices}.")


class NotificationsQuery(Paging):
    kind = fields.String(load_default=None, allow_none=True, validate=_NOTICE_KIND)
    unread = fields.Boolean(
        load_default=False,
        truthy={"true"},
        falsy={"false"},
        error_messages={"invalid": "Usare true o false."},
        metadata={"description": "true: solo quelle non lette"},
    )


class NotificationPath(StrictSchema):
    notification_id = fields.UUID(
        required=True, error_messages={"invalid_uuid": "Identificativo non valido."}
    )


class NotificationOutput(Schema):
    id = Id()
    kind = _text(enum=NOTICE_KINDS)
    kind_label = _text()
    title = _text()
    text = _text()
    request_id = Id(nullable=True)
    booking_id = Id(nullable=True)
    protocol = _text(nullable=True)
    created_at = Instant()
    read = _bool()
    read_at = Instant(nullable=True)


class NotificationListOutput(Schema):
    items = _list(fields.Nested(NotificationOutput))
    total = _int()
    unread = _int(description="non lette, in tutto")
    page = _int()
    page_size = _int()


class NotificationsReadOutput(Schema):
    marked = _int(description="quante erano non lette")
    unread = _int()


class PreferenceInput(StrictSchema):
    kind = fields.String(required=True, validate=_NOTICE_KIND)
    email = StrictBoolean(required=True)
    sms = StrictBoolean(required=True)


class PreferencesInput(StrictSchema):
    preferences = fields.List(
        fields.Nested(PreferenceInput), required=True, validate=validate.Length(min=1, max=len(NOTICE_KINDS))
    )


class PreferenceOutput(Schema):
    kind = _text(enum=NOTICE_KINDS)
    label = _text()
    channels = _list(_text(enum=("email", "sms")), description="i canali che questo tipo usa")
    email = _bool()
    sms = _bool()


class PreferencesOutput(Schema):
    preferences = _list(fields.Nested(PreferenceOutput))


class DeliveryOutput(Schema):
    id = Id()
    request_id = Id(nullable=True)
    event_id = Id()
    channel = _text(enum=("email", "sms"))
    recipient = _text(nullable=True)
    template = _text()
    subject_line = _text()
    status = _text(enum=("queued", "sent", "failed", "skipped"))
    error = _text(nullable=True, description="il motivo, per failed e skipped")
    created_at = Instant()
    sent_at = Instant(nullable=True)
    attempts = _int()


# ---- the CRM view and its audit log --------------------------------------------------------


class CrmQuery(StrictSchema):
    """Whose conversations: a citizen's codice fiscale or a company's matricola (one)."""

    codice_fiscale = Line(
        16, validators=[CODICE_FISCALE_SHAPE], metadata={"description": "codice fiscale del cittadino"}
    )
    matricola = Line(
        10,
        validators=[validate.Regexp(MATRICOLA_PATTERN, error="La matricola deve essere di 10 cifre.")],
        metadata={"description": "matricola dell'azienda"},
    )


class CrmConversationOutput(Schema):
    """A conversation as the CRM shows it: where it is, never what it says."""

    protocol = _text()
    origin = _text(enum=ORIGINS)
    channel = _text()
    subject = _nested(SubjectRefOutput)
    state = _text(enum=STATES)
    sede = _text(nullable=True, description="sede a cui è assegnata (null: in smistamento o non instradata)")
    region = _text(nullable=True)
    submitted_at = Instant()
    updated_at = Instant()
    closed_at = Instant(nullable=True)


class CrmConversationsOutput(Schema):
    codice_fiscale = _text(required=False)
    matricola = _text(required=False)
    total = _int()
    items = _list(fields.Nested(CrmConversationOutput), description="le più recenti, al massimo 200")


class CrmAuditQuery(StrictSchema):
    actor = Line(SUB_MAX, metadata={"description": "chi ha consultato (sub del token)"})
    codice_fiscale = Line(16, validators=[CODICE_FISCALE_SHAPE])
    matricola = Line(10, validators=[validate.Regexp(MATRICOLA_PATTERN, error="Matricola di 10 cifre.")])
    from_ = Day(data_key="from", metadata={"description": "dal giorno (Roma), incluso"})
    to = Day(metadata={"description": "al giorno (Roma), incluso"})
    page = fields.Integer(
        load_default=1, validate=validate.Range(min=1, max=MAX_PAGE, error="La pagina va da {min} a {max}.")
    )
    page_size = fields.Integer(
        load_default=50,
        validate=validate.Range(min=1, max=200, error="Da {min} a {max} elementi per pagina."),
    )


class CrmLookupOutput(Schema):
    at = Instant()
    actor = _text()
    actor_role = _text()
    actor_sede = _text(nullable=True)
    subject_kind = _text(enum=("codice_fiscale", "matricola"))
    subject_value = _text()
    results = _int(description="conversazioni trovate")


class CrmAuditOutput(Schema):
    items = _list(fields.Nested(CrmLookupOutput))
    page = _int()
    page_size = _int()
    total = _int()


# ---- dumping an answer --------------------------------------------------------------------


@functools.cache
def _instance(schema_cls, many: bool = False):
    """One instance per schema class (and ``many``): building one copies every declared
    field, on every request otherwise. Loading and dumping keep no state on the instance
    (marshmallow 4 has no context), so green threads share it."""
    return schema_cls(many=many)


def dump(schema_cls, data, *, many: bool = False):
    """``data`` through ``schema_cls``: what the schema declares, nothing else.

    Returns the dumped value and the places where ``data`` does not match the declaration:
    ``"path: undeclared"`` for a field the schema does not declare (dropped), ``"path: null"``
    for a None where the schema does not allow null.
    """
    schema = _instance(schema_cls, many) if isinstance(schema_cls, type) else schema_cls
    return schema.dump(data), mismatches(schema_cls, data, many=many)


def mismatches(schema_cls, data, *, many: bool = False, path: str = "") -> list[str]:
    schema = _instance(schema_cls) if isinstance(schema_cls, type) else schema_cls
    if many:
        if not isinstance(data, list | tuple):
            return [f"{path or '$'}: not a list"]
        found = []
        for index, item in enumerate(data):
            found += mismatches(schema, item, path=f"{path}[{index}]")
        return found
    if not isinstance(data, dict):
        return [f"{path or '$'}: not an object"]
    found = [f"{_join(path, key)}: undeclared" for key in data if key not in schema.fields]
    for name, field in schema.fields.items():
        if name in data:
            found += _field_mismatches(field, data[name], _join(path, name))
    return found


def _field_mismatches(field, value, path: str) -> list[str]:
    if value is None:
        return [] if field.allow_none else [f"{path}: null"]
    if isinstance(field, fields.Nested):
        return mismatches(field.schema, value, many=bool(field.many), path=path)
    if isinstance(field, fields.List) and isinstance(value, list | tuple):
        found = []
        for index, item in enumerate(value):
            found += _field_mismatches(field.inner, item, f"{path}[{index}]")
        return found
    if isinstance(field, fields.Dict) and field.value_field is not None and isinstance(value, dict):
        found = []
        for key, item in value.items():
            found += _field_mismatches(field.value_field, item, _join(path, key))
        return found
    return []


def _join(path: str, key) -> str:
    return f"{path}.{key}" if path else str(key)


# ---- loading input at an edge ---------------------------------------------------------


class RuleMessage(str):
    """A refusal that is a rule of the operation, not a shape the document can state: its
    message with its own machine code (listed in the operation's ``x-business-rules``)
    instead of ``invalid_field``."""

    code: str

    def __new__(cls, code: str, text: str):
        message = super().__new__(cls, text)
        message.code = code
        return message


def load(schema_cls, data: dict, prefix: str = "") -> dict:
    """Load input with a contract schema; shape errors become InvalidInput naming each field."""
    try:
        return _instance(schema_cls).load(data)
    except ValidationError as exc:
        errors = []
        for path, message, code in _flatten(exc.messages, prefix):
            errors.append(field_error(path, code, message))
        raise InvalidInput.from_errors(errors) from None


def _flatten(messages, prefix=""):
    if isinstance(messages, dict):
        for key, value in messages.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            yield from _flatten(value, path)
    elif isinstance(messages, list) and messages and all(isinstance(m, str) for m in messages):
        code = next((m.code for m in messages if isinstance(m, RuleMessage)), "invalid_field")
        yield prefix, " ".join(_italian(m) for m in messages), code
    elif isinstance(messages, list):
        for item in messages:
            yield from _flatten(item, prefix)
    else:
        yield prefix, _italian(str(messages)), getattr(messages, "code", "invalid_field")


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


class AppointmentFilters(Paging):
    from_day = Day(data_key="from")
    to_day = Day(data_key="to")
    codice_fiscale = Line(16, validators=[CODICE_FISCALE_SHAPE])
    state = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.OneOf(APPOINTMENT_STATES, error="Stato non valido: usare {choices}."),
    )
    punto_id = Line(20, validators=[PUNTO_ID_SHAPE])


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
    slot_minutes = StrictInteger(load_default=None, allow_none=True)
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


# ---- the gateway's appointment routes: query strings (names on the wire) ----------------------
# The gateway reads its query string with these and passes the RPC the names agenda loads
# (punto -> punto_id, date -> day or from/to): see gateway/api/agenda.py.


class AgendaAvailabilityQuery(StrictSchema):
    punto = Line(20, required=True, validators=[PUNTO_ID_SHAPE], metadata={"description": "il punto"})
    from_day = RequiredDay(data_key="from")
    to_day = RequiredDay(data_key="to")
    modality = fields.String(load_default=None, allow_none=True, validate=_MODALITY)
    topic = Line(60)


class AppointmentsQuery(Paging):
    date = Day(metadata={"description": "gli appuntamenti di un giorno (altrimenti from/to)"})
    from_day = Day(data_key="from")
    to_day = Day(data_key="to")
    codice_fiscale = Line(16, validators=[CODICE_FISCALE_SHAPE])
    state = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.OneOf(APPOINTMENT_STATES, error="Stato non valido: usare {choices}."),
    )
    punto = Line(20, validators=[PUNTO_ID_SHAPE])


class AgendaDayQuery(StrictSchema):
    punto = Line(20, required=True, validators=[PUNTO_ID_SHAPE])
    date = RequiredDay()
    days = fields.Integer(
        load_default=1, validate=validate.OneOf((1, 7), error="Un giorno (1) o una settimana (7).")
    )


class AppointmentPath(StrictSchema):
    booking_id = fields.UUID(required=True)


class PuntoPath(StrictSchema):
    punto_id = Line(20, required=True, validators=[PUNTO_ID_SHAPE])


# ---- what the appointment routes answer (services/agenda/views.py) -----------------------------


class CalendarExceptionOutput(Schema):
    id = Id()
    day = DayOut()
    kind = _text(enum=("closed", "extra"))
    hours = _text(nullable=True, description="HH:MM-HH:MM; null: tutto il giorno")
    reason = _text()


class PuntoOutput(Schema):
    punto_id = _text()
    sede = _text()
    region = _text()
    kind = _text()
    name = _text()
    address = _text()
    comune = _text()
    modalities = _list(_text(enum=APPOINTMENT_MODALITIES))
    topics = _list(_text())
    weekly = _text(description="mon=09:00-12:30,14:30-16:00;wed=09:00-12:30")
    slot_minutes = _int()
    patron_day = _text(nullable=True, description="MM-GG")
    exceptions = _list(fields.Nested(CalendarExceptionOutput))


class SlotOutput(Schema):
    start = Instant()
    end = Instant()


# "from" is a Python keyword: the schema is built from a mapping
AvailabilityOutput = Schema.from_dict(
    {
        "punto": _nested(PuntoOutput),
        "from": DayOut(),
        "to": DayOut(),
        "slot_minutes": _int(),
        "slots": _list(fields.Nested(SlotOutput), description="gli orari liberi"),
    },
    name="AvailabilityOutput",
)


class AppointmentSummary(Schema):
    id = Id()
    punto_id = _text()
    punto_name = _text()
    sede = _text()
    slot_start = Instant()
    slot_end = Instant()
    modality = _text(enum=APPOINTMENT_MODALITIES)
    topic = _text()
    state = _text(enum=APPOINTMENT_STATES)
    codici_fiscali = _list(_text())
    request_id = Id(nullable=True)


class AppointmentContactOutput(Schema):
    email = _text(nullable=True)
    phone = _text(nullable=True)


class AppointmentDetail(AppointmentSummary):
    punto_address = _text()
    region = _text()
    booked_by = _text()
    booked_by_role = _text()
    booked_by_name = _text()
    matricola = _text(nullable=True)
    motivazione = _text()
    contact = _nested(AppointmentContactOutput)
    attachments = _list(_text(fmt="uuid"))
    room_url = _text(nullable=True, description="la stanza del web meeting (chi prenota e la sede)")
    rescheduled_from = Id(nullable=True)
    created_at = Instant()
    cancelled_at = Instant(nullable=True)
    cancel_reason = _text(nullable=True)
    outcome_at = Instant(nullable=True)
    outcome_note = _text(nullable=True)


class AppointmentSearchResult(Schema):
    items = _list(fields.Nested(AppointmentSummary))
    total = _int()
    page = _int()
    page_size = _int()


class DayBookingOutput(AppointmentSummary):
    booked_by_name = _text()
    motivazione = _text()
    contact = _nested(AppointmentContactOutput)


class DaySlotOutput(SlotOutput):
    offered = _bool(description="false: fuori orario, con una prenotazione")
    bookings = _list(fields.Nested(DayBookingOutput))


class AgendaDayOutput(Schema):
    day = DayOut()
    holiday = _text(nullable=True, description="la festività che chiude il punto")
    slots = _list(fields.Nested(DaySlotOutput))


class DayViewOutput(Schema):
    punto_id = _text()
    name = _text()
    days = _list(fields.Nested(AgendaDayOutput))


# =============================================================================================
# ---- Cruscotto (issue 11) -----------------------------------------------------------------
# The dashboard's query strings (the gateway reads them, reporting loads the same) and answers
# (services/reporting/dashboard.py). Who sees which level is decided by shared.access.
# =============================================================================================

DASHBOARD_BUCKETS = (
    "all",
    "open",
    "open_within_sla",
    "open_past_sla",
    "closed",
    "closed_within_sla",
    "closed_late",
)
_LEVEL = validate.OneOf(DASHBOARD_LEVELS, error="Livello non valido: usare {choices}.")
_ORIGIN = validate.OneOf(ORIGINS, error="Provenienza non valida: usare {choices}.")


def _dashboard_view_fields() -> dict:
    return {
        "level": fields.String(
            load_default=None,
            allow_none=True,
            validate=_LEVEL,
            metadata={"description": "national | region | sede | triage; omesso: l'ambito dell'utente"},
        ),
        "code": Line(
            60,
            min_length=1,
            metadata={"description": "la regione (nome) o la sede (4 cifre); omesso: quella dell'utente"},
        ),
    }


def _dashboard_filters() -> dict:
    return {
        "subject": Line(60, min_length=1, metadata={"description": "codice dell'oggetto"}),
        "origin": fields.String(load_default=None, allow_none=True, validate=_ORIGIN),
    }


def _period_fields() -> dict:
    return {
        "from_day": Day(data_key="from", metadata={"description": "primo giorno di invio (Europe/Rome)"}),
        "to_day": Day(data_key="to", metadata={"description": "ultimo giorno di invio, incluso"}),
    }


DashboardQuery = StrictSchema.from_dict(
    {**_dashboard_view_fields(), **_period_fields(), **_dashboard_filters()}, name="DashboardQuery"
)
BacklogQuery = StrictSchema.from_dict(
    {**_dashboard_view_fields(), **_dashboard_filters()}, name="BacklogQuery"
)
TrendQuery = StrictSchema.from_dict(
    {**_dashboard_view_fields(), **_period_fields(), **_dashboard_filters()}, name="TrendQuery"
)
SubjectChangesQuery = StrictSchema.from_dict(
    {**_dashboard_view_fields(), **_period_fields()}, name="SubjectChangesQuery"
)
DashboardRequestsQuery = StrictSchema.from_dict(
    {
        **_dashboard_view_fields(),
        **_period_fields(),
        **_dashboard_filters(),
        "sla_days": fields.Integer(
            load_default=None,
            allow_none=True,
            validate=validate.OneOf(SLA_DAYS, error="Soglia non valida: usare {choices}."),
        ),
        "bucket": fields.String(
            load_default="all",
            validate=validate.OneOf(DASHBOARD_BUCKETS, error="Insieme non valido: usare {choices}."),
            metadata={
                "description": "la cella: aperte, aperte nei termini o scadute, chiuse nei termini o tardi"
            },
        ),
        "page": fields.Integer(
            load_default=1,
            validate=validate.Range(min=1, max=MAX_PAGE, error="La pagina va da {min} a {max}."),
        ),
        "page_size": fields.Integer(
            load_default=50,
            validate=validate.Range(min=1, max=200, error="Da {min} a {max} elementi per pagina."),
        ),
    },
    name="DashboardRequestsQuery",
)


def _ratio(description: str) -> fields.Float:
    return fields.Float(required=True, allow_none=True, metadata={"description": description})


class FiguresOutput(Schema):
    submitted = _int(description="richieste inviate nel periodo")
    open = _int(description="ancora aperte (aperte o in carico)")
    closed = _int()
    closed_within_sla = _int(description="chiuse entro la soglia di n giorni")
    closed_late = _int()
    open_past_sla = _int(description="aperte e oltre la soglia (scadute)")
    threshold_indicator = _ratio("chiuse entro n giorni ÷ (chiuse + aperte scadute); null senza denominatore")
    backlog_index = _ratio("indice di giacenza: aperte non scadute ÷ aperte; null senza aperte")
    average_closing_days = _ratio("tempo medio di chiusura in giorni")


class SubjectFiguresOutput(FiguresOutput):
    subject = _text()
    sla_days = _int()


class OriginFiguresOutput(FiguresOutput):
    origin = _text(enum=ORIGINS)


class ChildFiguresOutput(FiguresOutput):
    level = _text(enum=DASHBOARD_LEVELS)
    code = _text()
    name = _text(nullable=True)


class DashboardViewOutput(Schema):
    level = _text(enum=DASHBOARD_LEVELS)
    code = _text(nullable=True)
    name = _text(nullable=True)
    region = _text(nullable=True, description="la regione di una sede")


class PeriodOutput(Schema):
    first_day = DayOut()
    last_day = DayOut()


class ApartOutput(Schema):
    triage = _nested(FiguresOutput, description="in coda di smistamento: contate a parte")
    unrouted = _nested(FiguresOutput, description="non ancora instradate")


class IndicatorsOutput(Schema):
    view = _nested(DashboardViewOutput)
    period = _nested(PeriodOutput)
    as_of = DayOut(description="il giorno (Europe/Rome) a cui sono misurate le richieste aperte")
    totals = _nested(FiguresOutput)
    subjects = _list(fields.Nested(SubjectFiguresOutput))
    origins = _list(fields.Nested(OriginFiguresOutput))
    children = _list(fields.Nested(ChildFiguresOutput), description="il livello sotto: regioni o sedi")
    apart = _nested(ApartOutput, nullable=True, description="solo a livello nazionale")


class BacklogFiguresOutput(Schema):
    open = _int()
    open_within_sla = _int()
    open_past_sla = _int()
    backlog_index = _ratio("aperte non scadute ÷ aperte")


class SubjectBacklogOutput(BacklogFiguresOutput):
    subject = _text()
    sla_days = _int()


class ChildBacklogOutput(BacklogFiguresOutput):
    level = _text(enum=DASHBOARD_LEVELS)
    code = _text()
    name = _text(nullable=True)


class DueDayOutput(Schema):
    due_day = DayOut(description="l'ultimo giorno entro la soglia")
    open = _int()


class BacklogOutput(Schema):
    view = _nested(DashboardViewOutput)
    as_of = DayOut()
    totals = _nested(BacklogFiguresOutput)
    due = _list(fields.Nested(DueDayOutput), description="aperte non scadute per giorno di scadenza")
    subjects = _list(fields.Nested(SubjectBacklogOutput))
    children = _list(fields.Nested(ChildBacklogOutput))


class MonthFiguresOutput(FiguresOutput):
    month = _text(description="AAAA-MM")


class TrendOutput(Schema):
    view = _nested(DashboardViewOutput)
    period = _nested(PeriodOutput)
    as_of = DayOut()
    months = _list(fields.Nested(MonthFiguresOutput))


class TransitionOutput(Schema):
    from_subject = _text()
    to_subject = _text()
    changes = _int()


class SedeTransitionOutput(TransitionOutput):
    sede = _text()
    name = _text(nullable=True)
    region = _text(nullable=True)


class SubjectChangesOutput(Schema):
    view = _nested(DashboardViewOutput)
    period = _nested(PeriodOutput, description="giorni del cambio di oggetto")
    total = _int()
    transitions = _list(fields.Nested(TransitionOutput), description="da quale oggetto a quale, in tutto")
    by_sede = _list(fields.Nested(SedeTransitionOutput))


class DashboardRequestOutput(Schema):
    request_id = Id()
    protocol = _text(nullable=True)
    subject = _text()
    sla_days = _int()
    origin = _text(enum=ORIGINS)
    sede = _text(nullable=True)
    sede_name = _text(nullable=True)
    region = _text(nullable=True)
    state = _text(enum=STATES)
    submitted_at = Instant()
    closed_at = Instant(nullable=True)
    due_day = DayOut(description="l'ultimo giorno entro la soglia")
    days = _int(description="giorni dall'invio alla chiusura, o a oggi se aperta")
    within_sla = _bool(description="chiusa entro la soglia, o aperta e non scaduta")


class DashboardRequestsOutput(Schema):
    view = _nested(DashboardViewOutput)
    items = _list(fields.Nested(DashboardRequestOutput))
    total = _int(description="le richieste della cella (dagli aggregati)")
    page = _int()
    page_size = _int()


# ---- Customer Care (Agenda Appuntamenti; services/reporting/customer_care.py) -----------------

CUSTOMER_CARE_LEVELS = (DASHBOARD_NATIONAL, DASHBOARD_REGION, DASHBOARD_SEDE)  # appointments have a sede

CustomerCareQuery = StrictSchema.from_dict(
    {
        **_dashboard_view_fields(),
        "level": fields.String(
            load_default=None,
            allow_none=True,
            validate=validate.OneOf(CUSTOMER_CARE_LEVELS, error="Livello non valido: usare {choices}."),
            metadata={"description": "national | region | sede; omesso: l'ambito dell'utente"},
        ),
        "from_day": Day(
            data_key="from", metadata={"description": "primo giorno dell'appuntamento (Europe/Rome)"}
        ),
        "to_day": Day(data_key="to", metadata={"description": "ultimo giorno dell'appuntamento, incluso"}),
        "modality": fields.String(load_default=None, allow_none=True, validate=_MODALITY),
    },
    name="CustomerCareQuery",
)


class CustomerCareFiguresOutput(Schema):
    booked = _int(description="prenotazioni con l'appuntamento nel periodo, comunque finite")
    due = _int(
        description="appuntamenti dovuti: con l'esito registrato, o con il giorno passato e non "
        "disdetti dal richiedente"
    )
    held = _int(description="svolti")
    no_show = _int(description="il cittadino non si è presentato")
    cancelled_by_requester = _int(description="disdetti o spostati dal richiedente")
    cancelled_by_office = _int(description="disdetti dalla sede")
    awaiting_outcome = _int(description="confermati, giorno passato, esito non registrato")
    upcoming = _int(description="confermati, da oggi in poi")
    held_share = _ratio("quota svolti: svolti ÷ dovuti; null senza dovuti")
    no_show_rate = _ratio("mancate presentazioni ÷ (svolti + mancate presentazioni); null senza esiti")
    days_known = _int(description="prenotazioni di cui si conosce il giorno della prenotazione")
    days_to_appointment_average = _ratio("giorni di calendario dalla prenotazione all'appuntamento: media")
    days_to_appointment_median = _ratio("… mediana")
    days_to_appointment_p90 = _ratio("… 90° percentile")


class ModalityCareOutput(CustomerCareFiguresOutput):
    modality = _text(enum=APPOINTMENT_MODALITIES)


class ChildCareOutput(CustomerCareFiguresOutput):
    level = _text(enum=CUSTOMER_CARE_LEVELS)
    code = _text()
    name = _text(nullable=True)


class CustomerCareOutput(Schema):
    view = _nested(DashboardViewOutput)
    period = _nested(PeriodOutput, description="giorni degli appuntamenti (Europe/Rome)")
    as_of = DayOut(description="il giorno a cui è misurato se un appuntamento è passato")
    totals = _nested(CustomerCareFiguresOutput)
    modalities = _list(fields.Nested(ModalityCareOutput))
    children = _list(fields.Nested(ChildCareOutput), description="il livello sotto: regioni o sedi")


# ---- monthly reports (services/reporting/monthly.py) ------------------------------------------

REPORT_FORMATS = ("pdf", "csv", "xlsx")


class ReportsQuery(StrictSchema):
    region = Line(60, min_length=1, metadata={"description": "la regione (nome); omessa: quelle dell'utente"})
    month = Line(
        7, validators=[validate.Regexp(r"^[0-9]{4}-(0[1-9]|1[0-2])\Z", error="Mese non valido (AAAA-MM).")]
    )


class ReportPath(StrictSchema):
    report_id = fields.UUID(required=True)
    format = fields.String(
        required=True, validate=validate.OneOf(REPORT_FORMATS, error="Formato non valido: usare {choices}.")
    )


class ReportFileOutput(Schema):
    format = _text(enum=REPORT_FORMATS)
    filename = _text()
    content_type = _text()
    size = _int(description="byte")


class ReportOutput(Schema):
    id = Id()
    region = _text()
    month = _text(description="AAAA-MM: il mese di invio delle richieste")
    published_at = Instant(nullable=True)
    files = _list(fields.Nested(ReportFileOutput))
