"""Shapes of routing's RPC input (the gateway passes query strings and bodies as received).

Messages are Italian: they reach people as the ``detail`` of a problem document.
"""

from __future__ import annotations

from marshmallow import fields, validate

from services.routing.reference.model import SEDE_TYPES
from shared.contracts import FIRST_DAY, LAST_DAY, StrictSchema, no_control_characters
from shared.identifiers import MATRICOLA_PATTERN

REQUIRED = {"required": "Campo obbligatorio.", "null": "Campo obbligatorio."}
DAY = {"invalid": "Data non valida: usare AAAA-MM-GG."}
DAY_RANGE = validate.Range(min=FIRST_DAY, max=LAST_DAY, error="La data deve essere tra il 1900 e il 2100.")
TEXT_MAX = 200  # no routing input is longer; anything longer is refused before it is looked up


class RoutingInput(StrictSchema):
    error_messages = {"unknown": "Campo non previsto."}


def text(required: bool = False, validate=None, **kwargs):
    checks = [validate] if validate is not None else []
    kwargs["validate"] = checks + [_bounded, no_control_characters()]
    if required:
        return fields.String(required=True, error_messages=REQUIRED, **kwargs)
    return fields.String(load_default=None, **kwargs)


_bounded = validate.Length(max=TEXT_MAX, error="Al massimo {max} caratteri.")


class ExplainQuery(RoutingInput):
    """A dry run: the request routing would see, and optionally the day to decide on."""

    channel = text(
        True, validate=validate.Length(min=1, max=40), metadata={"description": "combipat | cassetto"}
    )
    profile = text(
        True,
        validate=validate.Length(min=1, max=40),
        metadata={"description": "operatore_generico | referente_regionale | azienda | intermediario"},
    )
    subject = text(True, validate=validate.Length(min=1, max=100))
    area = text(validate=validate.Length(max=100))
    cap = text(validate=validate.Regexp(r"^[0-9]{5}\Z", error="Il CAP deve essere di 5 cifre."))
    matricola = text(
        validate=validate.Regexp(MATRICOLA_PATTERN, error="La matricola deve essere di 10 cifre.")
    )
    ente = text(
        validate=validate.Length(min=1, max=20), metadata={"description": "codice ente del patronato"}
    )
    ufficio = text(
        validate=validate.Length(min=1, max=20), metadata={"description": "codice ufficio del patronato"}
    )
    on = fields.Date(
        load_default=None,
        error_messages=DAY,
        validate=DAY_RANGE,
        metadata={"description": "giorno della decisione, predefinito oggi"},
    )


class SediQuery(RoutingInput):
    on = fields.Date(
        load_default=None,
        error_messages=DAY,
        validate=DAY_RANGE,
        metadata={"description": "sedi in vigore in questo giorno, predefinito oggi"},
    )
    region = text()
    type = text(validate=validate.OneOf(SEDE_TYPES, error="Tipo di sede non valido: usare {choices}."))


class ReassignmentInput(RoutingInput):
    sede = text(
        True,
        validate=validate.Regexp(r"^[0-9]{4}\Z", error="Il codice sede deve essere di 4 cifre."),
        metadata={"description": "codice della sede (o del CRIC) di destinazione"},
    )
    reason = text(
        True,
        validate=validate.Length(
            min=3, max=1000, error="La motivazione deve essere tra {min} e {max} caratteri."
        ),
        metadata={"description": "motivazione della riassegnazione"},
    )
