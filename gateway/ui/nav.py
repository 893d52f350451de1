"""The console's menu: each entry with who may see it. A user sees only what the access
policy lets them do; the pages themselves still ask the API, which is the real check."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from shared.access import (
    BOOKER_ROLES,
    CASSETTO_ROLES,
    INBOX_ROLES,
    PATRONATO_ROLES,
    REQUESTER_ROLES,
    Caller,
)


def _roles(*roles: str) -> Callable[[Caller], bool]:
    return lambda caller: caller.role in roles


def _official(caller: Caller) -> bool:
    return caller.is_official


@dataclass(frozen=True)
class MenuItem:
    label: str
    path: str
    shown_to: Callable[[Caller], bool]


MENU = (
    MenuItem("Nuova richiesta", "/ui/richieste/nuova", _roles(*REQUESTER_ROLES)),
    MenuItem("Storico richieste", "/ui/richieste", _roles(*PATRONATO_ROLES)),
    MenuItem("Comunicazioni", "/ui/richieste", _roles(*CASSETTO_ROLES)),
    MenuItem("Coda di lavoro", "/ui/sede/coda", _official),
    MenuItem("Agenda", "/ui/agenda", lambda caller: caller.role in BOOKER_ROLES or caller.is_official),
    MenuItem("Notifiche", "/ui/notifiche", _roles(*INBOX_ROLES)),
    MenuItem("Cruscotto", "/ui/cruscotto", _roles("direttore", "admin")),
    MenuItem("Report mensili", "/ui/report", _roles("direttore", "admin")),
    MenuItem("Profili", "/ui/profili", _roles("patronato_admin")),
)


def menu_for(caller: Caller | None) -> list[MenuItem]:
    if caller is None:
        return []
    seen, items = set(), []
    for item in MENU:
        if item.shown_to(caller) and item.path not in seen:
            seen.add(item.path)
            items.append(item)
    return items


def home_for(caller: Caller) -> str:
    items = menu_for(caller)
    return items[0].path if items else "/ui/profilo"
