"""Shapes of routing's RPC input (the gateway passes query strings and bodies as received).

Messages are Italian: they reach people as the ``detail`` of a problem document.
"""
from __future__ import annotations

from marshmallow import fields, validate

from services.routing.structures import SEDE_TYPES
from shared.contracts import StrictSchema

REQUIRED = {"required": "Campo obbligatorio.", "null": "Campo obbligatorio."}
DAY = {"invalid": "Data non valida: usare AAAA-MM-GG."}


class RoutingInput(StrictSchema):
    error_messages = {"unknown": "Campo non previsto."}


def text(required: bool = False, **kwargs):
    if required:
        return fields.String(required=True, error_messages=REQUIRED, **kwargs)
    return fields.String(load_default=None, **kwargs)


class ExplainQuery(RoutingInput):
    """A dry run: the request routing would see, and optionally the day to decide on."""

    channel = text(True, validate=validate.Length(min=1, max=40), metadata={"description": "combipat | cassetto"})
    profile = text(
        True,
        validate=validate.Length(min=1, max=40),
        metadata={"description": "operatore_generico | referente_regionale | azienda | intermediario"},
    )
    subject = text(True, validate=validate.Length(min=1, max=100))
    area = text(validate=validate.Length(max=100))
    cap = text(validate=validate.Regexp(r"^\d{5}$", error="Il CAP deve essere di 5 cifre."))
    matricola = text(validate=validate.Regexp(r"^\d{10}$", error="La matricola deve essere di 10 cifre."))
    ente = text(validate=validate.Length(min=1, max=20), metadata={"description": "codice ente del patronato"})
    ufficio = text(validate=validate.Length(min=1, max=20), metadata={"description": "codice ufficio del patronato"})
    on = fields.Date(load_default=None, error_messages=DAY, metadata={"description": "giorno della decisione, predefinito oggi"})


class SediQuery(RoutingInput):
    on = fields.Date(load_default=None, error_messages=DAY, metadata={"description": "sedi in vigore in questo giorno, predefinito oggi"})
    region = text()
    type = text(validate=validate.OneOf(SEDE_TYPES, error="Tipo di sede non valido: usare {choices}."))


class ReassignmentInput(RoutingInput):
    sede = text(
        True,
        validate=validate.Regexp(r"^\d{4}$", error="Il codice sede deve essere di 4 cifre."),
        metadata={"description": "codice della sede (o del CRIC) di destinazione"},
    )
    reason = text(
        True,
        validate=validate.Length(min=3, max=1000, error="La motivazione deve essere tra {min} e {max} caratteri."),
        metadata={"description": "motivazione della riassegnazione"},
    )
