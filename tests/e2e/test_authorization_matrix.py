"""Authorisation as a matrix: every caller against every endpoint of the gateway, over HTTP.

Callers are tokens as an identity provider could issue them: each role with its scope,
another patronato, another sede, every kind of director, and tokens whose scope claims are
missing, empty or malformed (issue 7, finding 5). Each mutating cell works on a request
of its own, so cells do not depend on each other.

Expected answers: 2xx allowed; 401 no token or claims that are not valid; 403 the role
may never do this, or the token lacks the scope or group it needs; 404 the caller may not
see this request (existence is not leaked); 409 allowed, but refused by a rule of the
request (here: a reminder before the 15th day), which proves the caller got past
authorisation; 422 allowed, but the input is refused. A cell written ``(403, "code")``
also checks the problem's code.
"""

from __future__ import annotations

import inspect
import itertools
import uuid
from datetime import date, timedelta

import pytest
from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR

from gateway.service import GatewayService
from tests.e2e.helpers import VALID_CF, api, token
from tests.integration.helpers import wait_until

pytestmark = pytest.mark.e2e

OFFICE = uuid.uuid4().hex[:6]
MATRICOLA = "7012345678"  # prefix 70 → Campobasso: a sede and region other than the patronato request's
TRIAGE_MATRICOLA = "0012345678"  # prefix 00 is in no reference table: routed to triage
CONSULENTE = "BNCLRA80A41H501Y"
GROUP = "APP_FEA_COMBID"
# filled in by World: the sede and region the patronato request was routed to
SEDE, REGION = "<sede of the request>", "<region of the request>"
OTHER_SEDE, OTHER_REGION = "0101", "Sardegna"

CALLERS = {
    "anonymous": None,
    "owner": dict(role="patronato_operatore", patronato="001", ufficio=OFFICE),
    "referente_same_office": dict(role="patronato_referente", patronato="001", ufficio=OFFICE),
    "other_patronato": dict(role="patronato_operatore", patronato="002", ufficio="0009"),
    "patronato_without_scope": dict(role="patronato_operatore", patronato=None, ufficio=None),
    "patronato_empty_scope": dict(role="patronato_operatore", patronato="", ufficio=""),
    "patronato_admin": dict(role="patronato_admin", patronato="001"),
    "patronato_admin_without_scope": dict(role="patronato_admin"),
    "azienda": dict(role="azienda", matricole=[MATRICOLA, TRIAGE_MATRICOLA]),
    "azienda_without_matricole": dict(role="azienda", matricole=[]),
    "intermediario": dict(role="intermediario", matricole=[MATRICOLA], codice_fiscale=CONSULENTE),
    "official": dict(role="sede_operatore", sede=SEDE, groups=[GROUP]),
    "official_other_sede": dict(role="sede_operatore", sede=OTHER_SEDE, groups=[GROUP]),
    "official_without_group": dict(role="sede_operatore", sede=SEDE, groups=[]),
    "official_without_sede": dict(role="sede_operatore", groups=[GROUP]),
    "official_empty_sede": dict(role="sede_operatore", sede="", groups=[GROUP]),
    "official_groups_string": dict(role="sede_operatore", sede=SEDE, groups=GROUP),
    # an official of a regional direction who owns the triage no region owns (COMBID_SMISTAMENTO)
    "triage_official": dict(
        role="sede_operatore", sede="0700", groups=[GROUP, "COMBID_SMISTAMENTO"], scope="national"
    ),
    "director_sede": dict(role="direttore", sede=SEDE),
    "director_other_sede": dict(role="direttore", sede=OTHER_SEDE),
    "director_region": dict(role="direttore", regione=REGION),
    "director_other_region": dict(role="direttore", regione=OTHER_REGION),
    "director_national": dict(role="direttore", scope="national"),
    "director_without_scope": dict(role="direttore"),
    "director_empty_sede": dict(role="direttore", sede=""),
    "admin": dict(role="admin"),
    "unknown_role": dict(role="superuser"),
}
INVALID_CLAIMS = {"official_groups_string"}
PATRONATO_SCOPED = {"owner", "referente_same_office", "other_patronato"}
PATRONATO_UNSCOPED = {"patronato_without_scope", "patronato_empty_scope"}
CASSETTO = {"azienda", "azienda_without_matricole", "intermediario"}
REQUESTERS = PATRONATO_SCOPED | PATRONATO_UNSCOPED | CASSETTO
OFFICIALS_UNSCOPED = {"official_without_sede", "official_empty_sede"}
DIRECTORS_SCOPED = {
    "director_sede",
    "director_other_sede",
    "director_region",
    "director_other_region",
    "director_national",
}
DIRECTORS_UNSCOPED = {"director_without_scope", "director_empty_sede"}
# who reaches routing's consultation endpoints: enabled officials with a sede, directors with a scope, admins
CONSULTS_ROUTING = {"official", "official_other_sede", "admin"} | DIRECTORS_SCOPED

# who sees each kind of request (detail, download, listing)
SEES_PATRONATO_REQUEST = {
    "owner",
    "referente_same_office",
    "official",
    "director_sede",
    "director_region",
    "director_national",
    "admin",
}
SEES_CASSETTO_REQUEST = {"azienda", "intermediario", "director_national", "admin"}
SEES_TRIAGE_REQUEST = {"azienda", "director_national", "admin", "triage_official"}
# the triage official is, for everything but triage, an official of another sede
TRIAGE_OFFICIAL_CELLS = {"request detail (triage)": 200}


def expect(default, **cells):
    """One endpoint's column: ``default`` for every authenticated caller but those named."""
    table = {caller: default for caller in CALLERS}
    table.update(cells)
    table["anonymous"] = (401, "missing_token")
    for caller in INVALID_CLAIMS:
        table[caller] = (401, "invalid_claims")
    table["unknown_role"] = (403, "unknown_role")
    return table


def public():
    return {caller: 200 for caller in CALLERS}


def only(callers, status, default=403, **cells):
    return expect(default, **{**{caller: status for caller in callers}, **cells})


def reading(sees, **cells):
    return only(sees, 200, default=404, **cells)


MISSING_SCOPE = (403, "missing_scope")
OFFICIAL_REFUSALS = dict(
    official_without_group=(403, "missing_group"),
    official_without_sede=(403, "missing_sede_scope"),
    official_empty_sede=(403, "missing_sede_scope"),
)
OFFICIAL_STEP = only({"official", "admin"}, 200, official_other_sede=404, **OFFICIAL_REFUSALS)
OWNER_STEP = {caller: 404 for caller in REQUESTERS}  # a requester on a request they may not see

DETAIL = "/api/v1/requests/<string:request_id>"
APPOINTMENT = "/api/v1/appointments/<string:booking_id>"
BOOKERS = REQUESTERS  # the contact center books too: no such caller here
INBOX = REQUESTERS | {"patronato_admin", "patronato_admin_without_scope"}
ROLE_REFUSED = (403, "role_not_allowed")


# Cruscotto: officials with the group and a sede, directors with a scope, admins; each sees
# its own level by default, and below it only what lies in its scope
SEES_DASHBOARD = {"official", "official_other_sede", "admin"} | DIRECTORS_SCOPED
DASHBOARD_REFUSALS = dict(
    **OFFICIAL_REFUSALS,
    **{caller: MISSING_SCOPE for caller in DIRECTORS_UNSCOPED},
)
OUTSIDE_SCOPE = (403, "outside_scope")


def DASHBOARD(own_level=True):  # noqa: N802 - a column, like OFFICIAL_STEP
    """Every caller on its own level; or everyone on the sede of the patronato request."""
    if own_level:
        return only(SEES_DASHBOARD, 200, **DASHBOARD_REFUSALS)
    return only(
        {"official", "director_sede", "director_region", "director_national", "admin"},
        200,
        official_other_sede=OUTSIDE_SCOPE,
        director_other_sede=OUTSIDE_SCOPE,
        director_other_region=OUTSIDE_SCOPE,
        **DASHBOARD_REFUSALS,
    )


def REPORTS(status):  # noqa: N802 - a column, like OFFICIAL_STEP
    """Regional and national directors and admins (an unknown report: 404); a director's token
    without region or national scope: missing_scope; sede directors and everyone else: 403."""
    return only(
        {"director_region", "director_other_region", "director_national", "admin"},
        status,
        **{caller: MISSING_SCOPE for caller in DIRECTORS_UNSCOPED},
    )


def OFFICE_OF_PUNTO(status):  # noqa: N802 - a column, like OFFICIAL_STEP
    """The officials of the punto's sede and admins; another sede's punto answers as missing."""
    return only({"official", "admin"}, status, official_other_sede=404, **OFFICIAL_REFUSALS)


ENDPOINTS = {
    # name: (method, route as declared in gateway/api, expected per caller)
    "health": ("GET", "/health", public()),
    "ready": ("GET", "/ready", public()),
    "openapi": ("GET", "/api/v1/openapi.json", public()),
    "docs": ("GET", "/api/docs", public()),
    "docs file": ("GET", "/api/docs/<string:filename>", public()),
    "list subjects": ("GET", "/api/v1/subjects", expect(200)),
    "upload attachment": ("POST", "/api/v1/attachments", only(REQUESTERS, 201)),
    "submit request": (
        "POST",
        "/api/v1/requests",
        only(
            PATRONATO_SCOPED | {"azienda", "intermediario"},
            201,
            patronato_without_scope=(403, "missing_patronato_scope"),
            patronato_empty_scope=(403, "missing_patronato_scope"),
            # the token delegates no matricola: the one named is refused as a field
            azienda_without_matricole=422,
        ),
    ),
    "search requests": (
        "GET",
        "/api/v1/requests",
        expect(
            200,
            patronato_admin=MISSING_SCOPE,
            patronato_admin_without_scope=MISSING_SCOPE,
            azienda_without_matricole=MISSING_SCOPE,
            **{caller: MISSING_SCOPE for caller in PATRONATO_UNSCOPED | DIRECTORS_UNSCOPED},
            **OFFICIAL_REFUSALS,
        ),
    ),
    "request detail": ("GET", DETAIL, reading(SEES_PATRONATO_REQUEST)),
    "request detail (cassetto)": ("GET", DETAIL, reading(SEES_CASSETTO_REQUEST)),
    "request detail (triage)": ("GET", DETAIL, reading(SEES_TRIAGE_REQUEST)),
    "download attachment": (
        "GET",
        f"{DETAIL}/attachments/<string:attachment_id>",
        reading(SEES_PATRONATO_REQUEST),
    ),
    "take in charge": ("POST", "/api/v1/requests/<string:request_id>/take", OFFICIAL_STEP),
    "answer": ("POST", "/api/v1/requests/<string:request_id>/replies", OFFICIAL_STEP),
    "close": ("POST", "/api/v1/requests/<string:request_id>/close", OFFICIAL_STEP),
    "change subject": ("POST", "/api/v1/requests/<string:request_id>/subject", OFFICIAL_STEP),
    "follow up": (
        "POST",
        "/api/v1/requests/<string:request_id>/followups",
        expect(403, **{**OWNER_STEP, "owner": 200, "referente_same_office": 200}),
    ),
    "remind": (
        "POST",
        "/api/v1/requests/<string:request_id>/reminders",
        expect(403, **{**OWNER_STEP, "owner": 409, "referente_same_office": 409}),
    ),
    "remind (cassetto)": (
        "POST",
        "/api/v1/requests/<string:request_id>/reminders",
        expect(403, **{**OWNER_STEP, "azienda": 409, "intermediario": 409}),
    ),
    "outbound": (
        "POST",
        "/api/v1/outbound",
        only({"official", "official_other_sede", "admin"}, 201, **OFFICIAL_REFUSALS),
    ),
    "grant referente": (
        "PUT",
        "/api/v1/patronato/operators/<string:operator_id>/profile",
        only({"patronato_admin"}, 200, patronato_admin_without_scope=(403, "missing_patronato_scope")),
    ),
    "routing explain": ("GET", "/api/v1/routing/explain", only(CONSULTS_ROUTING, 200)),
    "routing sedi": ("GET", "/api/v1/routing/sedi", only(CONSULTS_ROUTING, 200)),
    "routing versions": ("GET", "/api/v1/routing/versions", only(CONSULTS_ROUTING, 200)),
    "routing decisions": (
        "GET",
        "/api/v1/routing/decisions/<string:request_id>",
        only(
            {"official", "director_sede", "director_region", "director_national", "admin"},
            200,
            official_other_sede=404,
            director_other_sede=404,
            director_other_region=404,
        ),
    ),
    "reassign": (
        "POST",
        "/api/v1/requests/<string:request_id>/assignment",
        only({"official", "admin"}, 200, official_other_sede=(403, "not_competent")),
    ),
    "admin status": ("GET", "/api/v1/admin/status", only({"admin"}, 200)),
    "dashboard indicators": ("GET", "/api/v1/dashboard/indicators", DASHBOARD()),
    "dashboard indicators (sede)": ("GET", "/api/v1/dashboard/indicators", DASHBOARD(own_level=False)),
    "dashboard backlog": ("GET", "/api/v1/dashboard/backlog", DASHBOARD()),
    "dashboard trend": ("GET", "/api/v1/dashboard/trend", DASHBOARD()),
    "dashboard subject changes": ("GET", "/api/v1/dashboard/subject-changes", DASHBOARD()),
    "dashboard requests (sede)": ("GET", "/api/v1/dashboard/requests", DASHBOARD(own_level=False)),
    "dashboard customer care": ("GET", "/api/v1/dashboard/customer-care", DASHBOARD()),
    "dashboard customer care (sede)": (
        "GET",
        "/api/v1/dashboard/customer-care",
        DASHBOARD(own_level=False),
    ),
    # monthly reports: regional directors (their region), national directors and admins
    "monthly reports": ("GET", "/api/v1/reports", REPORTS(200)),
    "monthly report file": ("GET", "/api/v1/reports/<string:report_id>/<string:format>", REPORTS(404)),
    # the CRM view: any enabled official, of any sede; its audit log: admins
    "crm conversations": (
        "GET",
        "/api/v1/crm/conversations",
        only({"official", "official_other_sede", "admin"}, 200, **OFFICIAL_REFUSALS),
    ),
    "crm audit": ("GET", "/api/v1/crm/audit", only({"admin"}, 200)),
    # Agenda Appuntamenti: any profile sees the punti and their free slots; a booking is
    # made by a booker (refused here by a rule: a slot in the past, 409), seen by its
    # booker and the offices (an unknown booking: 404 for everyone who got past the
    # gateway); the offices manage their own sede's punti
    "agenda punti": ("GET", "/api/v1/agenda/punti", expect(200)),
    "agenda availability": ("GET", "/api/v1/agenda/availability", expect(200)),
    "book appointment": (
        "POST",
        "/api/v1/appointments",
        only(BOOKERS, 409, azienda_without_matricole=(403, "matricola_not_delegated"), default=ROLE_REFUSED),
    ),
    "search appointments": (
        "GET",
        "/api/v1/appointments",
        expect(
            200,
            patronato_admin=ROLE_REFUSED,
            patronato_admin_without_scope=ROLE_REFUSED,
            **{caller: MISSING_SCOPE for caller in DIRECTORS_UNSCOPED},
            **OFFICIAL_REFUSALS,
        ),
    ),
    "appointment detail": ("GET", APPOINTMENT, expect(404)),
    "appointment ics": ("GET", f"{APPOINTMENT}/ics", expect(404)),
    "cancel appointment": ("POST", f"{APPOINTMENT}/cancel", expect(404)),
    "reschedule appointment": (
        "POST",
        f"{APPOINTMENT}/reschedule",
        only(BOOKERS, 404, default=ROLE_REFUSED),
    ),
    "appointment outcome": ("POST", f"{APPOINTMENT}/outcome", OFFICE_OF_PUNTO(404)),
    "punto availability": (
        "PUT",
        "/api/v1/agenda/punti/<string:punto_id>/availability",
        OFFICE_OF_PUNTO(200),
    ),
    "agenda day": ("GET", "/api/v1/agenda/day", OFFICE_OF_PUNTO(200)),
    # Notifiche: portal users only, each sees their own (an unknown notice: 404); a request's
    # deliveries: whoever may read the request
    "notifications": ("GET", "/api/v1/notifications", only(INBOX, 200, default=ROLE_REFUSED)),
    "notification read": (
        "POST",
        "/api/v1/notifications/<string:notification_id>/read",
        only(INBOX, 404, default=ROLE_REFUSED),
    ),
    "notifications read all": (
        "POST",
        "/api/v1/notifications/read-all",
        only(INBOX, 200, default=ROLE_REFUSED),
    ),
    "notification preferences": (
        "GET",
        "/api/v1/notifications/preferences",
        only(INBOX, 200, default=ROLE_REFUSED),
    ),
    "set notification preferences": (
        "PUT",
        "/api/v1/notifications/preferences",
        only(INBOX, 200, default=ROLE_REFUSED),
    ),
    "request deliveries": ("GET", f"{DETAIL}/deliveries", reading(SEES_PATRONATO_REQUEST)),
}

for _endpoint, (_, _, _column) in ENDPOINTS.items():
    _column["triage_official"] = TRIAGE_OFFICIAL_CELLS.get(_endpoint, _column["official_other_sede"])

PATRONATO_BODY = {
    "subject": "requisiti_accesso",
    "text": "Quali requisiti?",
    "citizen": {"codice_fiscale": VALID_CF, "cap": "00184"},
}
PDF = b"%PDF-1.4 prova"
EXPLAIN_QUERY = {
    "channel": "combipat",
    "profile": "operatore_generico",
    "subject": "sollecito_domanda",
    "cap": "00184",
}
CASSETTO_BODY = {"subject": "generico_informativo", "text": "Informazioni", "matricola": MATRICOLA}
# a direct booking every booker may make, but of a slot long past: refused by a rule (409)
PAST_BOOKING = {
    "slot_start": "2020-01-06T08:00:00+00:00",
    "modality": "in_person",
    "topic": "pensioni",
    "codici_fiscali": [VALID_CF],
    "contact": {"email": "matrice@example.org"},
    "motivazione": "Prova di autorizzazione",
    "matricola": MATRICOLA,
}
# cells that act on a request of their own, and the kind of request
FRESH = {
    "take in charge": "patronato",
    "answer": "patronato",
    "close": "patronato",
    "change subject": "patronato",
    "follow up": "patronato",
    "remind": "patronato",
    "reassign": "patronato",
    "remind (cassetto)": "cassetto",
}


class World:
    """The requests the cells act on: a patronato request of ``owner`` with an attachment,
    routed to a sede; a company's cassetto request routed to another sede and region; a
    cassetto request in triage; and one fresh request for each mutating cell."""

    def __init__(self, stack):
        self.stack = stack
        self.owner = self._token("owner", sub=f"owner-{OFFICE}")
        self.company = self._token("azienda", sub=f"azienda-{OFFICE}")
        self.attachment = self._upload(self.owner)
        self.patronato_request = self._submit(self.owner, dict(PATRONATO_BODY, attachments=[self.attachment]))
        self.cassetto_request = self._submit(self.company, CASSETTO_BODY)
        self.triage_request = self._submit(self.company, dict(CASSETTO_BODY, matricola=TRIAGE_MATRICOLA))
        kinds = list(FRESH.values())
        self.pools = {
            kind: [self._submit(tok, body) for _ in range(kinds.count(kind) * len(CALLERS))]
            for kind, tok, body in (
                ("patronato", self.owner, PATRONATO_BODY),
                ("cassetto", self.company, CASSETTO_BODY),
            )
        }
        self.admin = token("admin", sub="matrix-admin")
        placed = self._assignment(self.patronato_request)
        assert placed["kind"] == "sede" and placed["region"], placed
        self.sede, self.region = placed["code"], placed["region"]
        cassetto = self._assignment(self.cassetto_request)
        assert cassetto["code"] not in (self.sede, OTHER_SEDE)
        assert cassetto["region"] not in (self.region, OTHER_REGION)
        assert self._assignment(self.triage_request)["kind"] == "triage"
        assert self.region != OTHER_REGION and self.sede != OTHER_SEDE
        for request_id in itertools.chain(*self.pools.values()):
            self._assignment(request_id)
        self.official = token("sede_operatore", sub="matrix-official", sede=self.sede, groups=[GROUP])
        self.other_place = "0703" if self.sede != "0703" else "0704"  # where reassigning cells move a request
        self.punto = f"{self.sede}-S"  # the sede's own punto di consulenza (agenda's sample)
        self._reporting_knows_the_sede()
        self.pools = {kind: iter(ids) for kind, ids in self.pools.items()}

    def _token(self, caller: str, **extra) -> str:
        claims = dict(CALLERS[caller])
        return token(claims.pop("role"), **claims, **extra)

    def _upload(self, tok) -> str:
        response = api(self.stack, "POST", "/api/v1/attachments", tok, files={"file": ("prova.pdf", PDF)})
        assert response.status_code == 201, response.text
        return response.json()["id"]

    def _submit(self, tok, body) -> str:
        response = api(self.stack, "POST", "/api/v1/requests", tok, json=body)
        assert response.status_code == 201, response.text
        return response.json()["id"]

    def _assignment(self, request_id) -> dict:
        def placed():
            return api(self.stack, "GET", f"/api/v1/requests/{request_id}", self.admin).json()["assignment"]

        return wait_until(placed, timeout=30)

    def _reporting_knows_the_sede(self) -> None:
        """The dashboard places a sede in its region from routing's decisions, as reporting
        receives them: wait until it has the patronato request's."""

        def placed():
            params = {"level": "sede", "code": self.sede}
            answer = api(self.stack, "GET", "/api/v1/dashboard/indicators", self.admin, params=params)
            return answer.status_code == 200 and answer.json()["view"]["region"] == self.region

        wait_until(placed, timeout=30)

    def fresh(self, kind: str) -> str:
        return next(self.pools[kind])

    def answered(self) -> str:
        request_id = self.fresh("patronato")
        path = f"/api/v1/requests/{request_id}/replies"
        answer = api(self.stack, "POST", path, self.official, json={"text": "Risposta"})
        assert answer.status_code == 200, answer.text
        return request_id

    def token_for(self, caller: str) -> str | None:
        claims = CALLERS[caller]
        if claims is None:
            return None
        places = {SEDE: self.sede, REGION: self.region}
        claims = {name: places.get(v, v) if isinstance(v, str) else v for name, v in claims.items()}
        role = claims.pop("role")
        return token(role, sub=f"{caller}-{uuid.uuid4().hex[:6]}", **claims)


@pytest.fixture(scope="module")
def world(stack):
    return World(stack)


def call(world: World, endpoint: str, caller: str, tok):
    stack = world.stack
    method, route, _ = ENDPOINTS[endpoint]
    if endpoint == "follow up":
        request_id = world.answered()
    elif endpoint in FRESH:
        request_id = world.fresh(FRESH[endpoint])
    else:
        request_id = {
            "request detail (cassetto)": world.cassetto_request,
            "request detail (triage)": world.triage_request,
        }.get(endpoint, world.patronato_request)
    path = route.replace("<string:request_id>", request_id)
    path = path.replace("<string:attachment_id>", world.attachment)
    path = path.replace("<string:operator_id>", f"op-{uuid.uuid4().hex[:6]}")
    path = path.replace("<string:filename>", "swagger-ui.css")
    path = path.replace("<string:booking_id>", str(uuid.uuid4()))
    path = path.replace("<string:punto_id>", world.punto)
    path = path.replace("<string:notification_id>", str(uuid.uuid4()))
    path = path.replace("<string:report_id>", str(uuid.uuid4())).replace("<string:format>", "pdf")
    kwargs = {}
    tomorrow = date.today() + timedelta(days=1)
    if endpoint == "upload attachment":
        kwargs["files"] = {"file": ("a.pdf", PDF)}
    elif endpoint == "submit request":
        kwargs["json"] = CASSETTO_BODY if caller in CASSETTO else PATRONATO_BODY
    elif endpoint == "routing explain":
        kwargs["params"] = EXPLAIN_QUERY
    elif endpoint == "crm conversations":
        kwargs["params"] = {"codice_fiscale": VALID_CF}
    elif endpoint == "agenda availability":
        kwargs["params"] = {"punto": world.punto, "from": tomorrow.isoformat(), "to": tomorrow.isoformat()}
    elif endpoint in (
        "dashboard indicators (sede)",
        "dashboard requests (sede)",
        "dashboard customer care (sede)",
    ):
        kwargs["params"] = {"level": "sede", "code": world.sede}
    elif endpoint == "agenda day":
        kwargs["params"] = {"punto": world.punto, "date": tomorrow.isoformat()}
    else:
        body = {
            "take in charge": {},
            "answer": {"text": "Risposta"},
            "close": {"outcome": "Definita"},
            "change subject": {"subject": "prestazione_in_corso_o_respinta"},
            "follow up": {"text": "Grazie, un dubbio"},
            "remind": {},
            "remind (cassetto)": {},
            "outbound": {
                "recipient": {"kind": "azienda", "matricola": MATRICOLA},
                "subject": "Avviso",
                "text": "Testo",
            },
            "grant referente": {"referente_regionale": True},
            "reassign": {"sede": world.other_place, "reason": "prova di autorizzazione"},
            "book appointment": dict(PAST_BOOKING, punto_id=world.punto),
            "reschedule appointment": dict(PAST_BOOKING, punto_id=world.punto),
            "cancel appointment": {"reason": "prova di autorizzazione"},
            "appointment outcome": {"outcome": "held"},
            "punto availability": {},
            "set notification preferences": {
                "preferences": [{"kind": "request_routed", "email": True, "sms": False}]
            },
        }.get(endpoint)
        if body is not None:
            kwargs["json"] = body
    return api(stack, method, path, tok, **kwargs)


CELLS = list(itertools.product(ENDPOINTS, CALLERS))


@pytest.mark.parametrize("endpoint, caller", CELLS, ids=[f"{e}-{c}" for e, c in CELLS])
def test_authorization_matrix(world, endpoint, caller):
    expected = ENDPOINTS[endpoint][2][caller]
    status, code = expected if isinstance(expected, tuple) else (expected, None)

    response = call(world, endpoint, caller, world.token_for(caller))

    assert response.status_code == status, response.text
    if status >= 400:
        assert response.headers["Content-Type"].startswith("application/problem+json")
        assert response.json()["code"] == code if code else response.json()["code"]


def _declared_routes() -> set[tuple[str, str]]:
    """The API's routes; the console's pages (/ui) call these same operations and are checked
    by tests/interface/test_console_*.py and tests/browser."""
    routes = set()
    for _, function in inspect.getmembers(GatewayService, inspect.isfunction):
        for entrypoint in getattr(function, ENTRYPOINT_EXTENSIONS_ATTR, ()):
            if entrypoint.url != "/ui" and not entrypoint.url.startswith("/ui/"):
                routes.add((entrypoint.method, entrypoint.url))
    return routes


def test_the_matrix_covers_every_endpoint_of_the_gateway():
    covered = {(method, route) for method, route, _ in ENDPOINTS.values()}
    assert _declared_routes() == covered
    assert all(set(expected) == set(CALLERS) for _, _, expected in ENDPOINTS.values())


def _listed(world: World, tok) -> set[str]:
    found, page = set(), 1
    while True:
        params = {"page": page, "page_size": 100}
        listing = api(world.stack, "GET", "/api/v1/requests", tok, params=params).json()
        found |= {item["id"] for item in listing["items"]}
        if page * 100 >= listing["total"]:
            return found
        page += 1


LISTS = sorted(caller for caller, expected in ENDPOINTS["search requests"][2].items() if expected == 200)


@pytest.mark.parametrize("caller", LISTS)
def test_search_shows_each_caller_what_the_detail_shows(world, caller):
    """The SQL filter and the detail's check are one rule: a request is listed exactly for
    the callers who may open it."""
    found = _listed(world, world.token_for(caller))

    assert (world.patronato_request in found) == (caller in SEES_PATRONATO_REQUEST)
    assert (world.cassetto_request in found) == (caller in SEES_CASSETTO_REQUEST)
    assert (world.triage_request in found) == (caller in SEES_TRIAGE_REQUEST)
