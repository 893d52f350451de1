"""Who may read and do what: the one access policy of the platform.

The caller is built once at each edge from the token's claims (``Caller.from_claims``:
types, lengths and formats checked; an empty claim counts as missing) and passed around
as a frozen value. The gateway builds it from the verified JWT and sends ``as_claims()``
over RPC; each service rebuilds it the same way (a service never trusts its caller).

A request is described by its ``Ownership`` facts. ``read_scope(caller)`` says, as data,
which ownership facts a caller may see: the Python check (``can_read``) and the SQL
filter (``sql_condition``) are both evaluated from that one value, so they cannot
disagree. A missing or empty scope claim denies; a director sees the whole country only
when the token says ``scope: "national"``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from dataclasses import fields as dataclass_fields

from marshmallow import EXCLUDE, Schema, ValidationError, fields, pre_load, validate
from sqlalchemy import and_, false, or_, true

from shared.errors import Forbidden, NotFound, Unauthorized
from shared.identifiers import MATRICOLA_PATTERN
from shared.vocabulary import OUTBOUND_ORIGINS

ROLES = (
    "azienda",
    "intermediario",
    "patronato_operatore",
    "patronato_referente",
    "patronato_admin",
    "sede_operatore",
    "direttore",
    "admin",
    "contact_center",
)
# Roles that write requests (companies, intermediaries, patronato operators and referenti).
REQUESTER_ROLES = ("azienda", "intermediario", "patronato_operatore", "patronato_referente")
PATRONATO_ROLES = ("patronato_operatore", "patronato_referente", "patronato_admin")
CASSETTO_ROLES = ("azienda", "intermediario")
# Contact-center operators book appointments for callers (circ. 135/2011: "fissare un
# appuntamento con un funzionario di Agenzia"); they read no request.
CONTACT_CENTER_ROLE = "contact_center"
# Who books appointments: the requesters and the contact center.
BOOKER_ROLES = (*REQUESTER_ROLES, CONTACT_CENTER_ROLE)
# The group that enables a sede official to "Comunicazione Bidirezionale" (messaggio 1986/2011).
OFFICIAL_GROUP = "APP_FEA_COMBID"
# This platform's own group (not from the seeds): an enabled official who also owns the triage
# queue of the region in the token's ``regione`` claim (the whole country with
# ``scope: "national"``): the requests no rule could place, to take or send to a sede.
TRIAGE_GROUP = "COMBID_SMISTAMENTO"
NATIONAL_SCOPE = "national"

# Bounds match the columns the claims reach (requests.requester_sub is 100 characters).
SUB_MAX, NAME_MAX = 100, 200
_PRINTABLE = r"^[^\x00-\x1f\x7f]*\Z"


# ---- the caller ---------------------------------------------------------------------------


class ClaimsSchema(Schema):
    """The claims the platform reads; any other claim of the identity provider is ignored."""

    class Meta:
        unknown = EXCLUDE

    sub = fields.String(
        required=True, validate=[validate.Length(min=1, max=SUB_MAX), validate.Regexp(_PRINTABLE)]
    )
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    name = fields.String(
        load_default="", validate=[validate.Length(max=NAME_MAX), validate.Regexp(_PRINTABLE)]
    )
    email = fields.Email(load_default=None, allow_none=True, validate=validate.Length(max=254))
    codice_fiscale = fields.String(
        load_default=None, allow_none=True, validate=validate.Regexp(r"^[A-Z0-9]{11,16}\Z")
    )
    matricole = fields.List(
        fields.String(validate=validate.Regexp(MATRICOLA_PATTERN)),
        load_default=list,
        validate=validate.Length(max=1000),
    )
    patronato = fields.String(
        load_default=None, allow_none=True, validate=validate.Regexp(r"^[A-Za-z0-9]{1,20}\Z")
    )
    ufficio = fields.String(
        load_default=None, allow_none=True, validate=validate.Regexp(r"^[A-Za-z0-9]{1,20}\Z")
    )
    sede = fields.String(load_default=None, allow_none=True, validate=validate.Regexp(r"^[0-9]{4}\Z"))
    regione = fields.String(
        load_default=None,
        allow_none=True,
        validate=[validate.Length(min=1, max=60), validate.Regexp(_PRINTABLE)],
    )
    scope = fields.String(load_default=None, allow_none=True, validate=validate.OneOf([NATIONAL_SCOPE]))
    groups = fields.List(
        fields.String(validate=validate.Regexp(r"^[A-Za-z0-9_.-]{1,100}\Z")),
        load_default=list,
        validate=validate.Length(max=100),
    )
    # the work queues (areas; a CRIC's sections) an official is assigned to within the sede:
    # none means the whole sede
    aree = fields.List(
        fields.String(validate=validate.Regexp(r"^[a-z0-9_]{1,40}\Z")),
        load_default=list,
        validate=validate.Length(max=20),
    )

    @pre_load
    def empty_is_missing(self, data, **kwargs):
        """An empty claim ("" or []) is a missing claim: it grants nothing."""
        if not isinstance(data, Mapping):
            return data
        return {key: value for key, value in data.items() if value not in ("", None, [], ())}


# one instance: building a schema copies its fields, and every RPC call loads the claims
_CLAIMS = ClaimsSchema()


@dataclass(frozen=True)
class Caller:
    sub: str
    role: str
    name: str = ""
    email: str | None = None
    codice_fiscale: str | None = None
    matricole: tuple[str, ...] = ()
    patronato: str | None = None
    ufficio: str | None = None
    sede: str | None = None
    regione: str | None = None
    scope: str | None = None
    groups: tuple[str, ...] = ()
    aree: tuple[str, ...] = ()

    @classmethod
    def from_claims(cls, claims) -> Caller:
        """The caller these claims describe; ``Unauthorized`` naming the claims at fault."""
        if isinstance(claims, Caller):
            return claims
        if not isinstance(claims, Mapping):
            raise Unauthorized("invalid_claims", "Le informazioni sull'utente non sono valide.")
        try:
            values = _CLAIMS.load(claims)
        except ValidationError as exc:
            names = ", ".join(sorted(str(name) for name in exc.messages))
            raise Unauthorized(
                "invalid_claims",
                f"Il token contiene claim non validi: {names}.",
                extra={"claims": sorted(exc.messages)},
            ) from None
        values["sub"] = str(values["sub"])
        values["matricole"] = tuple(dict.fromkeys(values["matricole"]))
        values["groups"] = tuple(dict.fromkeys(values["groups"]))
        values["aree"] = tuple(dict.fromkeys(values["aree"]))
        return cls(**values)

    def as_claims(self) -> dict:
        """What crosses RPC: plain JSON, rebuilt on the other side with ``from_claims``."""
        claims = {}
        for item in dataclass_fields(self):
            value = getattr(self, item.name)
            claims[item.name] = list(value) if isinstance(value, tuple) else value
        return claims

    @property
    def is_official(self) -> bool:
        """A sede official enabled to the service, with the sede they work for."""
        return self.role == "sede_operatore" and OFFICIAL_GROUP in self.groups and bool(self.sede)

    @property
    def is_requester(self) -> bool:
        return self.role in REQUESTER_ROLES

    @property
    def triage_regions(self) -> Scope | None:
        """The triage an enabled official owns (group COMBID_SMISTAMENTO): of its region, or
        national; None for anyone else."""
        if not (self.is_official and TRIAGE_GROUP in self.groups):
            return None
        if self.regione:
            return any_of(where(assigned_kind="triage", assigned_region=self.regione))
        if self.scope == NATIONAL_SCOPE:
            return any_of(where(assigned_kind="triage"))
        return None


# ---- what a request is, for the policy ------------------------------------------------------


@dataclass(frozen=True)
class Ownership:
    """The facts of a request that decide who sees it."""

    origin: str | None = None
    requester: str | None = None
    patronato_ente: str | None = None
    patronato_ufficio: str | None = None
    matricola: str | None = None
    consulente: str | None = None  # codice fiscale of the intermediary who wrote
    assigned_sede: str | None = None
    assigned_region: str | None = None
    area: str | None = None
    # where routing put it inside the structure: the work queue (the subject's area, or the
    # CRIC's section), and the kind of place (sede, cric, polo, triage)
    assigned_queue: str | None = None
    assigned_kind: str | None = None


OWNERSHIP_FIELDS = tuple(item.name for item in dataclass_fields(Ownership))


@dataclass(frozen=True)
class Scope:
    """The requests a caller may see: everything, or any of ``conditions``; each condition
    asks that every named ownership fact be one of the given values."""

    unrestricted: bool = False
    conditions: tuple[tuple[tuple[str, frozenset], ...], ...] = ()

    @property
    def denies_all(self) -> bool:
        return not self.unrestricted and not self.conditions

    def matches(self, ownership: Ownership) -> bool:
        if self.unrestricted:
            return True
        return any(
            all(getattr(ownership, name) in values for name, values in condition)
            for condition in self.conditions
        )


EVERYTHING = Scope(unrestricted=True)
NOTHING = Scope()


def where(**facts) -> tuple[tuple[str, frozenset], ...]:
    """One condition: ``where(assigned_sede="0704")`` or ``where(matricola={...})``."""
    condition = []
    for name, value in facts.items():
        if name not in OWNERSHIP_FIELDS:
            raise KeyError(name)
        values = frozenset([value] if isinstance(value, str) else value)
        condition.append((name, values))
    return tuple(condition)


def any_of(*conditions) -> Scope:
    return Scope(conditions=tuple(condition for condition in conditions if condition))


# ---- reading --------------------------------------------------------------------------------


def read_scope(caller: Caller, requests: bool = True) -> Scope:
    """Which requests ``caller`` may see (read, list, search).

    An official whose token names work queues (``aree``) sees, of the sede's requests, those
    in these queues, and the sede's own communications; a triage official also the triage
    of its region. ``requests=False`` is the sede as a place, without queues or triage (what
    the sede's offices share: its appointments)."""
    role = caller.role
    if role == "admin":
        return EVERYTHING
    if role in PATRONATO_ROLES:
        if caller.patronato and caller.ufficio:
            return any_of(where(patronato_ente=caller.patronato, patronato_ufficio=caller.ufficio))
        return NOTHING
    if role in CASSETTO_ROLES:
        return any_of(
            where(matricola=caller.matricole) if caller.matricole else (),
            where(consulente=caller.codice_fiscale) if caller.codice_fiscale else (),
        )
    if role == "sede_operatore":
        if not caller.is_official:
            return NOTHING
        if not requests:
            return any_of(where(assigned_sede=caller.sede))
        triage = caller.triage_regions.conditions if caller.triage_regions else ()
        if not caller.aree:
            return any_of(where(assigned_sede=caller.sede), *triage)
        return any_of(
            where(assigned_sede=caller.sede, assigned_queue=caller.aree),
            where(assigned_sede=caller.sede, origin=OUTBOUND_ORIGINS),
            *triage,
        )
    if role == "direttore":
        return director_scope(caller)
    return NOTHING


def director_scope(caller: Caller) -> Scope:
    """The narrowest scope the token names: its sede, else its region, else the country
    (only when it says so: ``scope: "national"``)."""
    if caller.sede:
        return any_of(where(assigned_sede=caller.sede))
    if caller.regione:
        return any_of(where(assigned_region=caller.regione))
    if caller.scope == NATIONAL_SCOPE:
        return EVERYTHING
    return NOTHING


def can_read(caller: Caller, ownership: Ownership) -> bool:
    return read_scope(caller).matches(ownership)


def require_read(caller: Caller, ownership: Ownership) -> None:
    """Anyone who may not see a request gets the same answer as for a missing one."""
    if not can_read(caller, ownership):
        raise NotFound("request_not_found", "Richiesta non trovata.")


# portal users with a Notifiche inbox and notification preferences
INBOX_ROLES = (*REQUESTER_ROLES, "patronato_admin")


def notice_scope(caller: Caller) -> Scope:
    """The notices a portal user's Notifiche lists: those about requests they may see (the
    same rule as reading them) and those addressed to them (a booking they made)."""
    require_role(caller, INBOX_ROLES)
    return Scope(conditions=(*read_scope(caller).conditions, where(requester=caller.sub)))


def require_some_scope(caller: Caller, requests: bool = True) -> Scope:
    """For lists: a token without the claims its role needs is refused, not shown nothing."""
    scope = read_scope(caller, requests)
    if scope.denies_all:
        if caller.role == "sede_operatore":
            require_official(caller)
        raise Forbidden(
            "missing_scope",
            "Il token non indica l'ambito dell'utente (patronato e ufficio, matricole, sede o regione).",
        )
    return scope


def sql_condition(scope: Scope, columns: Mapping[str, object]):
    """The same scope as a SQL condition over ``columns`` (ownership fact -> column)."""
    if scope.unrestricted:
        return true()
    if not scope.conditions:
        return false()
    clauses = []
    for condition in scope.conditions:
        parts = []
        for name, values in condition:
            column = columns[name]
            parts.append(column == next(iter(values)) if len(values) == 1 else column.in_(sorted(values)))
        clauses.append(and_(*parts))
    return or_(*clauses)


# ---- doing ----------------------------------------------------------------------------------


def require_role(caller: Caller, allowed: Iterable[str]) -> None:
    if caller.role not in tuple(allowed):
        raise Forbidden("role_not_allowed", "Il profilo dell'utente non consente questa operazione.")


def require_requester(caller: Caller) -> None:
    if not caller.is_requester:
        raise Forbidden("requester_only", "Operazione riservata a chi ha inviato la richiesta.")


def require_uploader(caller: Caller) -> None:
    """Who stores a file: the requesters, and the contact center (the image of an inbound
    fax, named by the fax's event)."""
    if not (caller.is_requester or caller.role == CONTACT_CENTER_ROLE):
        raise Forbidden("requester_only", "Operazione riservata a chi invia richieste o fax.")


def require_official(caller: Caller) -> None:
    """Only sede officials enabled in group APP_FEA_COMBID (messaggio 1986/2011), with
    their sede in the token, and administrators work requests."""
    if caller.role == "admin":
        return
    if caller.role != "sede_operatore":
        raise Forbidden("official_only", "Operazione riservata agli operatori di sede.")
    if OFFICIAL_GROUP not in caller.groups:
        raise Forbidden(
            "missing_group",
            "L'utente non è abilitato alla Comunicazione Bidirezionale: "
            "occorre l'appartenenza al gruppo APP_FEA_COMBID.",
        )
    if not caller.sede:
        raise Forbidden("missing_sede_scope", "Il token dell'operatore non indica la sede di appartenenza.")


def work_scope(caller: Caller) -> Scope:
    """The requests an official works: those assigned to their sede, in their work queues
    when the token names some (an admin: all)."""
    require_official(caller)
    if caller.role == "admin":
        return EVERYTHING
    triage = caller.triage_regions.conditions if caller.triage_regions else ()
    if caller.aree:
        return any_of(where(assigned_sede=caller.sede, assigned_queue=caller.aree), *triage)
    return any_of(where(assigned_sede=caller.sede), *triage)


def require_work(caller: Caller, ownership: Ownership) -> None:
    """An official works only the requests assigned to their own sede (others answer 404)."""
    if not work_scope(caller).matches(ownership):
        raise NotFound("request_not_found", "Richiesta non trovata.")


def require_own_request(caller: Caller, ownership: Ownership) -> None:
    """Follow-ups and reminders: a requester, on a request they may see."""
    require_requester(caller)
    require_read(caller, ownership)


# ---- the CRM view ---------------------------------------------------------------------------


def require_crm_lookup(caller: Caller) -> None:
    """Msg 3813/2021: COMBIPAT is integrated in INPS's CRM, where an official sees the
    conversation a citizen is having: an enabled official of any sede (group APP_FEA_COMBID)
    and administrators look up a citizen's or a company's conversations across sedi."""
    require_official(caller)


def require_admin(caller: Caller) -> None:
    """The audit log of the CRM look-ups, the operators' status: administrators only."""
    require_role(caller, ("admin",))


# ---- routing --------------------------------------------------------------------------------


def require_routing_consultation(caller: Caller) -> None:
    """Explain, sedi, versions, decisions: enabled officials, directors with a scope, admins."""
    if caller.role == "admin" or caller.is_official:
        return
    if caller.role == "direttore" and not director_scope(caller).denies_all:
        return
    raise Forbidden(
        "role_not_allowed",
        "Solo gli operatori di sede abilitati, i direttori e gli amministratori consultano l'instradamento.",
    )


def assignment_ownership(assignment: Mapping | None) -> Ownership:
    """Where an assignment puts a request (triage is no sede)."""
    assignment = assignment or {}
    sede = assignment.get("code") if assignment.get("kind") != "triage" else None
    return Ownership(
        assigned_sede=sede,
        assigned_region=assignment.get("region"),
        assigned_queue=assignment.get("queue"),
        assigned_kind=assignment.get("kind"),
    )


def require_decision_history(caller: Caller, assignments: Iterable[Mapping]) -> None:
    """The routing history of a request: for whoever may see it at one of the places it was
    assigned to (an official of one of those sedi, a director of one of them or of their
    region, a national director, an admin)."""
    require_routing_consultation(caller)
    scope = read_scope(caller)
    if not any(scope.matches(assignment_ownership(assignment)) for assignment in assignments):
        raise NotFound(
            "decision_not_found", "Nessuna decisione di instradamento visibile per questa richiesta."
        )


def require_reassignment(caller: Caller, current_assignment: Mapping) -> None:
    """An administrator, or an official of the structure the request is assigned to now."""
    if caller.role != "admin" and not caller.is_official:
        raise Forbidden(
            "role_not_allowed",
            "Solo un operatore di sede abilitato o un amministratore può riassegnare una richiesta.",
        )
    if not work_scope(caller).matches(assignment_ownership(current_assignment)):
        raise Forbidden(
            "not_competent", "La richiesta non è assegnata alla sede dell'operatore: non può riassegnarla."
        )


# ---- appointments -------------------------------------------------------------------------


@dataclass(frozen=True)
class AppointmentParties:
    """Who an appointment concerns: whoever booked it, and the sede (and region) of its punto."""

    booked_by: str
    sede: str
    region: str | None = None

    @property
    def office(self) -> Ownership:
        return Ownership(assigned_sede=self.sede, assigned_region=self.region)


def can_see_appointment(caller: Caller, parties: AppointmentParties) -> bool:
    """The booker; the officials of the punto's sede; directors of that sede, its region or
    national; admins. Another requester sees nothing of it."""
    if caller.role in BOOKER_ROLES:
        return caller.sub == parties.booked_by
    return caller.role in ("sede_operatore", "direttore", "admin") and read_scope(
        caller, requests=False
    ).matches(parties.office)


def require_appointment_party(caller: Caller, parties: AppointmentParties) -> None:
    if not can_see_appointment(caller, parties):
        raise NotFound("appointment_not_found", "Appuntamento non trovato.")


def require_appointment_office(caller: Caller, sede: str) -> None:
    """The officials of the sede (group APP_FEA_COMBID) and admins manage its appointments
    and availability; another sede's punti answer as missing."""
    require_official(caller)
    if caller.role != "admin" and caller.sede != sede:
        raise NotFound("punto_not_found", "Punto di consulenza non trovato.")


def appointment_scope(caller: Caller) -> Scope | None:
    """For lists: None for a booker (their own bookings), else the offices' scope over
    ``assigned_sede``/``assigned_region``; a token without the claims it needs is refused."""
    if caller.role in BOOKER_ROLES:
        return None
    if caller.role not in ("sede_operatore", "direttore", "admin"):
        raise Forbidden(
            "role_not_allowed", "Il profilo dell'utente non consente di consultare gli appuntamenti."
        )
    return require_some_scope(caller, requests=False)


# ---- dashboard (Cruscotto) -----------------------------------------------------------------

DASHBOARD_NATIONAL, DASHBOARD_REGION, DASHBOARD_SEDE, DASHBOARD_TRIAGE = (
    "national",
    "region",
    "sede",
    "triage",
)
DASHBOARD_LEVELS = (DASHBOARD_NATIONAL, DASHBOARD_REGION, DASHBOARD_SEDE, DASHBOARD_TRIAGE)


@dataclass(frozen=True)
class DashboardView:
    """A level of the dashboard: the whole country, a region, a sede (with its region), or
    the requests in triage (which belong to no sede: national callers only)."""

    level: str
    code: str | None = None
    region: str | None = None  # of a sede


def dashboard_scope(caller: Caller) -> DashboardView:
    """The widest view a caller has: a sede official or a sede director their sede, a regional
    director their region, a national director (``scope: "national"``) and an admin the whole
    country. A token without the claim its role needs is refused, never shown nothing."""
    if caller.role == "admin":
        return DashboardView(DASHBOARD_NATIONAL)
    if caller.role == "sede_operatore":
        require_official(caller)
        return DashboardView(DASHBOARD_SEDE, caller.sede)
    if caller.role != "direttore":
        raise Forbidden("role_not_allowed", "Il cruscotto è riservato ai direttori e agli operatori di sede.")
    if caller.sede:
        return DashboardView(DASHBOARD_SEDE, caller.sede)
    if caller.regione:
        return DashboardView(DASHBOARD_REGION, caller.regione)
    if caller.scope == NATIONAL_SCOPE:
        return DashboardView(DASHBOARD_NATIONAL)
    raise Forbidden(
        "missing_scope", "Il token del direttore non indica la sede, la regione o l'ambito nazionale."
    )


def require_dashboard_role(caller: Caller) -> None:
    """The gateway's first check: a role that may see some dashboard, with its scope."""
    dashboard_scope(caller)


def can_see_dashboard_view(caller: Caller, view: DashboardView) -> bool:
    """Whether ``view`` lies within the caller's scope (a sede's region is in ``view.region``)."""
    scope = dashboard_scope(caller)
    if scope.level == DASHBOARD_NATIONAL:
        return True
    if scope.level == DASHBOARD_REGION:
        return (view.level == DASHBOARD_REGION and view.code == scope.code) or (
            view.level == DASHBOARD_SEDE and view.region == scope.code
        )
    return view.level == DASHBOARD_SEDE and view.code == scope.code


def require_dashboard_view(caller: Caller, view: DashboardView) -> None:
    if not can_see_dashboard_view(caller, view):
        raise Forbidden(
            "outside_scope",
            "Il livello richiesto è fuori dall'ambito dell'utente (sede, regione o nazionale).",
        )


# ---- monthly reports ----------------------------------------------------------------------


def report_region_scope(caller: Caller) -> str | None:
    """Whose monthly reports a caller reads: a regional director their region's (the report
    is addressed to the Direzione regionale); a national director and an admin every region's
    (None). Sede directors, officials and everyone else: refused."""
    if caller.role == "admin":
        return None
    if caller.role != "direttore":
        raise Forbidden(
            "role_not_allowed", "I report mensili sono riservati ai direttori regionali e nazionali."
        )
    scope = director_scope(caller)
    if caller.sede:
        raise Forbidden("role_not_allowed", "I report mensili sono indirizzati alle Direzioni regionali.")
    if scope.unrestricted:
        return None
    if caller.regione:
        return caller.regione
    raise Forbidden("missing_scope", "Il token del direttore non indica la regione o l'ambito nazionale.")


def require_report_region(caller: Caller, region: str | None) -> str | None:
    """The region a caller may read reports of: the one asked for if within its scope."""
    own = report_region_scope(caller)
    if own is None:
        return region
    if region not in (None, own):
        raise Forbidden("outside_scope", "I report di un'altra regione non sono visibili all'utente.")
    return own
