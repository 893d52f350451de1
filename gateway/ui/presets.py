"""Development sign-in: who one can be on a development stack (``COMBID_ENV=development``).
Each preset is a role with a scope that matches the sample reference data; the form may
change the scope fields. Outside development the sign-in page only points to the identity
provider (``CONSOLE_LOGIN_URL``) and issues nothing."""

from __future__ import annotations

from dataclasses import dataclass, field

from marshmallow import ValidationError

from shared.access import OFFICIAL_GROUP, TRIAGE_GROUP, ClaimsSchema
from shared.errors import InvalidInput


@dataclass(frozen=True)
class Preset:
    key: str
    label: str
    role: str
    claims: dict = field(default_factory=dict)


PRESETS = (
    Preset(
        "patronato_operatore",
        "Operatore di patronato (001, ufficio di Torino)",
        "patronato_operatore",
        {"patronato": "001", "ufficio": "0001", "email": "operatore@patronato001.example"},
    ),
    Preset(
        "patronato_referente",
        "Referente di patronato (001, ufficio di Torino)",
        "patronato_referente",
        {"patronato": "001", "ufficio": "0001", "email": "referente@patronato001.example"},
    ),
    Preset("patronato_admin", "Amministratore di patronato (001)", "patronato_admin", {"patronato": "001"}),
    Preset(
        "azienda",
        "Azienda (matricole 7012345678, 7012345679)",
        "azienda",
        {
            "matricole": ["7012345678", "7012345679"],
            "codice_fiscale": "01234567890",
            "email": "amministrazione@azienda.example",
        },
    ),
    Preset(
        "intermediario",
        "Consulente del lavoro (delegato sulla 7012345678)",
        "intermediario",
        {
            "matricole": ["7012345678"],
            "codice_fiscale": "BNCLRA80A41H501Y",
            "email": "studio@consulente.example",
        },
    ),
    Preset(
        "sede_operatore",
        "Funzionario di sede (0704 Roma)",
        "sede_operatore",
        {"sede": "0704", "regione": "Lazio", "groups": [OFFICIAL_GROUP]},
    ),
    Preset(
        "smistamento",
        "Funzionario dello smistamento (Lazio)",
        "sede_operatore",
        {"sede": "0700", "regione": "Lazio", "groups": [OFFICIAL_GROUP, TRIAGE_GROUP]},
    ),
    Preset("direttore_sede", "Direttore di sede (0704 Roma)", "direttore", {"sede": "0704"}),
    Preset("direttore_regionale", "Direttore regionale (Lazio)", "direttore", {"regione": "Lazio"}),
    Preset("direttore_centrale", "Direttore centrale (nazionale)", "direttore", {"scope": "national"}),
    Preset("admin", "Amministratore della piattaforma", "admin", {}),
)
BY_KEY = {preset.key: preset for preset in PRESETS}
# scope fields the sign-in form may change, each a single value or a comma-separated list
EDITABLE = ("sede", "regione", "patronato", "ufficio", "matricole", "email", "name")
LISTS = ("matricole",)


def preset_claims(form) -> dict:
    """The claims of the chosen preset with the form's changes, validated like any token's."""
    preset = BY_KEY.get(form.get("preset", ""))
    if preset is None:
        raise InvalidInput(
            "invalid_preset",
            "Scegliere un profilo di accesso.",
            errors=[{"field": "preset", "detail": "profilo sconosciuto"}],
        )
    claims = {"sub": f"dev-{preset.key}", "role": preset.role, "name": preset.label, **preset.claims}
    for name in EDITABLE:
        value = (form.get(name) or "").strip()[:300]
        if value:
            claims[name] = (
                [item.strip() for item in value.split(",") if item.strip()] if name in LISTS else value
            )
    try:
        ClaimsSchema().load(claims)
    except ValidationError as exc:
        errors = [
            {"field": key, "detail": "; ".join(map(str, messages))} for key, messages in exc.messages.items()
        ]
        raise InvalidInput("invalid_claims", "I dati di accesso non sono validi.", errors=errors) from None
    return claims
