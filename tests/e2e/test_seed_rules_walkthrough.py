"""The walk-through of the README's "CRIC sections", "Triage", "chained requests" and
"Contact center" sections, over HTTP on every service started as a process: the rules of
the seeds as an official of a CRIC, a triage desk or a company meets them.

- a referente regionale's question reaches the CRIC section it names (circ. 135/2011);
- a scheda Linea INPS of the contact center reaches the section of the regional CRIC, and
  one without its area waits in the region's triage, where a regional triage official
  picks it up;
- a conversation chained both ways is seen from both ends (msg 1986/2011);
- a closed request is not reassigned.
"""

from __future__ import annotations

import uuid

import pytest

from shared.contact_center import ContactCenterPublisher
from tests.e2e.helpers import VALID_CF, api, routed_detail, token
from tests.integration.helpers import wait_until

pytestmark = pytest.mark.e2e

GROUP = "APP_FEA_COMBID"
CRIC_LAZIO, ROMA = "0790", "0704"
ADMIN = token("admin", sub="walk-admin")


def test_a_referentes_question_reaches_the_cric_section_it_names(stack):
    referente = token("patronato_referente", sub=f"ref-{uuid.uuid4().hex[:6]}", ufficio="0058")  # Roma
    created = api(
        stack,
        "POST",
        "/api/v1/requests",
        referente,
        json={
            "subject": "chiarimento_normativo",
            "cric_section": "soggetto_contribuente",
            "text": "Come si applica lo sgravio contributivo per le nuove assunzioni?",
        },
    )
    assert created.status_code == 201, created.text

    detail = routed_detail(stack, ADMIN, created.json()["id"])

    assert detail["assignment"]["code"] == CRIC_LAZIO
    assert detail["assignment"]["name"] == "CRIC Lazio – sezione Soggetto contribuente"
    assert detail["cric_section"] == "soggetto_contribuente"
    section = token("sede_operatore", sede=CRIC_LAZIO, groups=[GROUP], aree=["soggetto_contribuente"])
    pensioni = token("sede_operatore", sede=CRIC_LAZIO, groups=[GROUP], aree=["pensioni"])
    queue = api(stack, "GET", "/api/v1/requests", section, params={"queue": "soggetto_contribuente"}).json()
    assert created.json()["id"] in [item["id"] for item in queue["items"]]
    assert api(stack, "GET", f"/api/v1/requests/{created.json()['id']}", pensioni).status_code == 404


def publish_scheda(infra, **more) -> str:
    message_id = f"scheda-{uuid.uuid4().hex[:8]}"
    with ContactCenterPublisher(infra.amqp_uri) as publisher:
        publisher.publish(
            kind="scheda_linea_inps",
            codice_fiscale=VALID_CF,
            sender="Operatore CCM 42",
            subject="Ricongiunzione contributi esteri",
            text="Il cittadino chiede come ricongiungere i contributi versati in Svizzera.",
            region="Lazio",
            message_id=message_id,
            **more,
        )
    return message_id


def scheda_request(stack, count_before: int) -> dict:
    def arrived():
        found = api(
            stack, "GET", "/api/v1/requests", ADMIN, params={"origin": "linea_inps", "page_size": 100}
        )
        items = found.json()["items"]
        return items if found.json()["total"] > count_before else None

    return wait_until(arrived, timeout=20)[0]  # newest first


def schede(stack) -> int:
    return api(stack, "GET", "/api/v1/requests", ADMIN, params={"origin": "linea_inps"}).json()["total"]


def test_a_contact_center_scheda_reaches_the_section_of_the_regional_cric(stack, infra):
    before = schede(stack)
    publish_scheda(infra, cric_section="pensioni")
    request = scheda_request(stack, before)

    detail = routed_detail(stack, ADMIN, request["id"])

    assert (detail["origin"], detail["channel"]) == ("linea_inps", "linea_inps")
    assert detail["assignment"]["name"] == "CRIC Lazio – sezione Pensioni"
    cric = token("sede_operatore", sede=CRIC_LAZIO, groups=[GROUP], aree=["pensioni"])
    taken = api(stack, "POST", f"/api/v1/requests/{request['id']}/take", cric, json={})
    assert taken.status_code == 200, taken.text


def test_a_triaged_scheda_is_picked_up_by_a_regional_triage_official(stack, infra):
    before = schede(stack)
    publish_scheda(infra)  # no area: the Lazio CRIC cannot place it in a section
    request = scheda_request(stack, before)
    detail = routed_detail(stack, ADMIN, request["id"])
    assert (detail["assignment"]["kind"], detail["assignment"]["region"]) == ("triage", "Lazio")

    lazio = token("sede_operatore", sede="0700", groups=[GROUP, "COMBID_SMISTAMENTO"], regione="Lazio")
    lombardia = token(
        "sede_operatore", sede="0900", groups=[GROUP, "COMBID_SMISTAMENTO"], regione="Lombardia"
    )
    plain = token("sede_operatore", sede="0700", groups=[GROUP])
    triage = api(stack, "GET", "/api/v1/requests", lazio, params={"origin": "linea_inps", "page_size": 100})
    assert request["id"] in [item["id"] for item in triage.json()["items"]]
    assert api(stack, "GET", f"/api/v1/requests/{request['id']}", lombardia).status_code == 404
    assert api(stack, "GET", f"/api/v1/requests/{request['id']}", plain).status_code == 404

    moved = api(
        stack,
        "POST",
        f"/api/v1/requests/{request['id']}/assignment",
        lazio,
        json={"sede": CRIC_LAZIO, "reason": "Ricongiunzione: sezione pensioni del CRIC"},
    )

    assert moved.status_code == 200, moved.text

    def placed():
        current = api(stack, "GET", f"/api/v1/requests/{request['id']}", ADMIN).json()["assignment"]
        return current if current["code"] == CRIC_LAZIO else None

    assert wait_until(placed, timeout=15)["kind"] == "cric"


def test_a_chained_conversation_is_seen_from_both_ends_and_a_closed_request_stays_put(stack):
    office = uuid.uuid4().hex[:6]
    requester = token(sub=f"op-{office}", ufficio=office)
    official = token("sede_operatore", sede=ROMA, groups=[GROUP])
    body = {
        "subject": "requisiti_accesso",
        "text": "Quali requisiti per l'assegno di inclusione?",
        "citizen": {"codice_fiscale": VALID_CF, "cap": "00184"},
    }
    parent = api(stack, "POST", "/api/v1/requests", requester, json=body).json()
    routed_detail(stack, requester, parent["id"])
    reply = api(
        stack,
        "POST",
        "/api/v1/outbound",
        official,
        json={
            "recipient": {"kind": "patronato"},
            "request_id": parent["id"],
            "subject": "Documenti",
            "text": "Inviare l'ISEE aggiornato.",
        },
    )
    assert reply.status_code == 201, reply.text
    child = api(
        stack,
        "POST",
        "/api/v1/requests",
        requester,
        json={**body, "text": "Ecco l'ISEE.", "parent_id": parent["id"]},
    ).json()

    from_parent = api(stack, "GET", f"/api/v1/requests/{parent['id']}", requester).json()
    from_child = api(stack, "GET", f"/api/v1/requests/{child['id']}", requester).json()

    assert {(c["id"], c["direction"]) for c in from_parent["chained"]} == {
        (reply.json()["id"], "from_sede"),
        (child["id"], "from_requester"),
    }
    assert from_child["parent"]["protocol"] == parent["protocol"]

    closed = api(
        stack, "POST", f"/api/v1/requests/{parent['id']}/close", official, json={"outcome": "Definita"}
    )
    assert closed.status_code == 200, closed.text

    def refused():
        # to the sede it is at: "already_assigned" until routing learns it is closed, so the
        # request never moves while the test waits
        moved = api(
            stack,
            "POST",
            f"/api/v1/requests/{parent['id']}/assignment",
            official,
            json={"sede": ROMA, "reason": "Prova dopo la chiusura"},
        )
        assert moved.status_code == 409, moved.text
        return moved.json()["code"] == "request_closed"  # (a 409 Response is falsy)

    wait_until(refused, timeout=15)
