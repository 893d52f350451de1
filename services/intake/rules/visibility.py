"""What of a request each reader is shown, once the access policy (shared/access.py) let
them read it."""

from __future__ import annotations

from shared.access import Caller

# Office staff: they read the routing rule's queue of an assignment, requesters do not.
OFFICE_ROLES = ("sede_operatore", "direttore", "admin")
ASSIGNMENT_SHOWN_TO_REQUESTERS = ("kind", "code", "name", "reason")


def sees_assignment_details(caller: Caller) -> bool:
    """Office staff by role (whether enabled or scoped is the access policy's business)."""
    return caller.role in OFFICE_ROLES


def assignment_shown(assignment: dict | None, caller: Caller) -> dict | None:
    """Requesters see where their request went and why; office staff also see the queue."""
    if assignment is None or sees_assignment_details(caller):
        return assignment
    return {key: assignment[key] for key in ASSIGNMENT_SHOWN_TO_REQUESTERS if key in assignment}
