"""Authorisation as a matrix: every role against every endpoint, through the gateway.

Each mutating cell works on a request of its own, so cells do not depend on each other.
Expected answers: 2xx allowed; 403 the role may never do this; 404 the role may not see
this request (existence is not leaked); 409 allowed, but refused by a rule of the request
(here: a reminder before the 15th day), which proves the caller got past authorisation.
"""
from __future__ import annotations

import itertools
import uuid

import pytest

from tests.e2e.helpers import VALID_CF, api, token
from tests.integration.helpers import wait_until

pytestmark = pytest.mark.e2e

OFFICE = uuid.uuid4().hex[:6]
MATRICOLA = "7012345678"

ROLES = {
    "anonymous": None,
    "owner": dict(role="patronato_operatore", patronato="001", ufficio=OFFICE),
    "referente_same_office": dict(role="patronato_referente", patronato="001", ufficio=OFFICE),
    "other_patronato": dict(role="patronato_operatore", patronato="002", ufficio="0009"),
    "patronato_admin": dict(role="patronato_admin", patronato="001"),
    "azienda": dict(role="azienda", matricole=[MATRICOLA]),
    "intermediario": dict(role="intermediario", matricole=[MATRICOLA], codice_fiscale="BNCLRA80A41H501Y"),
    "official": dict(role="sede_operatore", groups=["APP_FEA_COMBID"]),  # sede filled in: the request's sede
    "official_without_group": dict(role="sede_operatore", groups=[]),
    "official_other_sede": dict(role="sede_operatore", sede="0101", groups=["APP_FEA_COMBID"]),
    "direttore": dict(role="direttore"),
    "admin": dict(role="admin"),
}
REQUESTERS = {"owner", "referente_same_office", "other_patronato", "azienda", "intermediario"}
SEES_THE_REQUEST = {"owner", "referente_same_office", "official", "direttore", "admin"}


def expect(default, **cells):
    table = {role: default for role in ROLES}
    table.update(cells)
    table["anonymous"] = 401
    return table


OFFICIAL_STEP = expect(403, official=200, admin=200, official_other_sede=404)
ENDPOINTS = {
    "list subjects": expect(200),
    "upload attachment": expect(403, **{role: 201 for role in REQUESTERS}),
    "submit request": expect(403, **{role: 201 for role in REQUESTERS}),
    "search requests": expect(200, official_without_group=403),
    "request detail": expect(404, **{role: 200 for role in SEES_THE_REQUEST}),
    "take in charge": OFFICIAL_STEP,
    "answer": OFFICIAL_STEP,
    "close": OFFICIAL_STEP,
    "change subject": OFFICIAL_STEP,
    "follow up": expect(403, owner=200, referente_same_office=200, other_patronato=404, azienda=404, intermediario=404),
    "remind": expect(403, owner=409, referente_same_office=409, other_patronato=404, azienda=404, intermediario=404),
    "outbound": expect(403, official=201, official_other_sede=201, admin=201),
    "grant referente": expect(403, patronato_admin=200),
}

PATRONATO_BODY = {"subject": "requisiti_accesso", "text": "Quali requisiti?", "citizen": {"codice_fiscale": VALID_CF, "cap": "00184"}}
CASSETTO_BODY = {"subject": "f24", "text": "F24 non abbinato", "matricola": MATRICOLA}


class World:
    """The requests the cells act on, all submitted by ``owner`` and routed to one sede."""

    def __init__(self, stack):
        self.stack = stack
        self.owner = token(sub=f"owner-{OFFICE}", **{k: v for k, v in ROLES["owner"].items() if k != "role"})
        self.requests = [self._submit() for _ in range(len(ROLES) * 7)]
        self.sede = wait_until(lambda: self._routed_sede(self.requests[-1]), timeout=30)
        for request_id in self.requests:
            wait_until(lambda: self._routed_sede(request_id), timeout=30)
        self.official = token("sede_operatore", sub="funz", sede=self.sede, groups=["APP_FEA_COMBID"])
        self._unused = iter(self.requests)

    def _submit(self) -> str:
        response = api(self.stack, "POST", "/api/v1/requests", self.owner, json=PATRONATO_BODY)
        assert response.status_code == 201, response.text
        return response.json()["id"]

    def _routed_sede(self, request_id):
        assignment = api(self.stack, "GET", f"/api/v1/requests/{request_id}", self.owner).json()["assignment"]
        return assignment and assignment["code"]

    def fresh(self) -> str:
        return next(self._unused)

    def answered(self) -> str:
        request_id = self.fresh()
        assert api(self.stack, "POST", f"/api/v1/requests/{request_id}/replies", self.official, json={"text": "Risposta"}).status_code == 200
        return request_id

    def token_for(self, role_name: str) -> str | None:
        claims = ROLES[role_name]
        if claims is None:
            return None
        claims = dict(claims)
        role = claims.pop("role")
        if role in ("sede_operatore", "direttore") and "sede" not in claims:
            claims["sede"] = self.sede
        return token(role, sub=f"{role_name}-{uuid.uuid4().hex[:6]}", **claims)


@pytest.fixture(scope="module")
def world(stack):
    return World(stack)


def call(world: World, endpoint: str, role_name: str, tok):
    stack = world.stack
    if endpoint == "list subjects":
        return api(stack, "GET", "/api/v1/subjects", tok)
    if endpoint == "upload attachment":
        return api(stack, "POST", "/api/v1/attachments", tok, files={"file": ("a.pdf", b"%PDF-1.4 prova")})
    if endpoint == "submit request":
        body = CASSETTO_BODY if ROLES[role_name] and ROLES[role_name]["role"] in ("azienda", "intermediario") else PATRONATO_BODY
        return api(stack, "POST", "/api/v1/requests", tok, json=body)
    if endpoint == "search requests":
        return api(stack, "GET", "/api/v1/requests", tok)
    if endpoint == "request detail":
        return api(stack, "GET", f"/api/v1/requests/{world.requests[0]}", tok)
    steps = {
        "take in charge": ("take", {}),
        "answer": ("replies", {"text": "Risposta"}),
        "close": ("close", {"outcome": "Definita"}),
        "change subject": ("subject", {"subject": "prestazione_in_corso_o_respinta"}),
        "remind": ("reminders", {}),
    }
    if endpoint in steps:
        path, body = steps[endpoint]
        return api(stack, "POST", f"/api/v1/requests/{world.fresh()}/{path}", tok, json=body)
    if endpoint == "follow up":
        return api(stack, "POST", f"/api/v1/requests/{world.answered()}/followups", tok, json={"text": "Grazie, un dubbio"})
    if endpoint == "outbound":
        body = {"recipient": {"kind": "azienda", "matricola": MATRICOLA}, "subject": "Avviso", "text": "Testo"}
        return api(stack, "POST", "/api/v1/outbound", tok, json=body)
    if endpoint == "grant referente":
        return api(stack, "PUT", f"/api/v1/patronato/operators/op-{uuid.uuid4().hex[:6]}/profile", tok, json={"referente_regionale": True})
    raise AssertionError(endpoint)


CELLS = list(itertools.product(ENDPOINTS, ROLES))


@pytest.mark.parametrize("endpoint, role_name", CELLS, ids=[f"{e}-{r}" for e, r in CELLS])
def test_authorization_matrix(world, endpoint, role_name):
    response = call(world, endpoint, role_name, world.token_for(role_name))
    expected = ENDPOINTS[endpoint][role_name]
    assert response.status_code == expected, response.text
    if expected >= 400:
        assert response.headers["Content-Type"].startswith("application/problem+json")
        assert response.json()["code"]


def test_search_shows_each_role_only_its_scope(world):
    target = world.requests[0]
    for role_name in ROLES:
        if role_name in ("anonymous", "official_without_group"):
            continue
        tok = world.token_for(role_name)
        found = set()
        page = 1
        while True:
            listing = api(world.stack, "GET", "/api/v1/requests", tok, params={"page": page, "page_size": 100}).json()
            found |= {item["id"] for item in listing["items"]}
            if page * 100 >= listing["total"]:
                break
            page += 1
        assert (target in found) == (role_name in SEES_THE_REQUEST), role_name
