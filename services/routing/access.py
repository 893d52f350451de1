"""Who may consult routing and who may move a request: rules on the caller, no I/O.

The caller is what the gateway took from the verified token (shared.contracts.CallerSchema).
"""
from __future__ import annotations

from shared.contracts import OFFICIAL_GROUP
from shared.errors import Forbidden

SUPERVISOR_ROLES = ("direttore", "admin")


def is_official(caller: dict) -> bool:
    """An operatore di sede enabled to the service (group APP_FEA_COMBID)."""
    return caller.get("role") == "sede_operatore" and OFFICIAL_GROUP in (caller.get("groups") or [])


def require_consultation(caller: dict) -> None:
    """Explain, sedi, versions: officials, directors and administrators."""
    if not (is_official(caller) or caller.get("role") in SUPERVISOR_ROLES):
        raise Forbidden("role_not_allowed", "Solo gli operatori di sede abilitati, i direttori e gli amministratori consultano l'instradamento.")


def require_reassignment(caller: dict, current_assignment: dict) -> None:
    """An administrator, or an official of the structure the request is assigned to now."""
    if caller.get("role") == "admin":
        return
    if not is_official(caller):
        raise Forbidden("role_not_allowed", "Solo un operatore di sede abilitato o un amministratore può riassegnare una richiesta.")
    if not caller.get("sede") or caller.get("sede") != current_assignment.get("code"):
        raise Forbidden("not_competent", "La richiesta non è assegnata alla sede dell'operatore: non può riassegnarla.")


def require_history_access(caller: dict, history: list[dict]) -> None:
    """Directors and administrators; an official whose structure held the request."""
    require_consultation(caller)
    if caller.get("role") in SUPERVISOR_ROLES:
        return
    if caller.get("sede") not in {decision["assignment"].get("code") for decision in history}:
        raise Forbidden("not_competent", "La richiesta non è mai stata assegnata alla sede dell'operatore.")
