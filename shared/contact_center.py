"""Client for the contact-center systems: publish inbound faxes and outbound contact-center
messages so that they join the history of the company/intermediary they name.

The contract (also in README.md, "Contact center"):

- broker: the project's RabbitMQ; exchange ``combid.events`` (topic, durable);
- routing key ``contact_center_message``; persistent message, ``content_type`` ``application/json``;
- body: the envelope of every event (``event_id`` uuid, ``type`` = ``contact_center_message``,
  ``version`` = 1, ``occurred_at`` UTC ISO 8601 with offset, ``producer``, ``correlation_id``,
  ``payload``) with the payload schema ``ContactCenterMessageV1`` of ``shared/events.py``:
  ``message_id`` (the sender's own id: publishing it again is harmless), ``kind``
  (``fax_inbound`` | ``contact_center_outbound`` | ``scheda_linea_inps``), ``matricola``
  and/or ``codice_fiscale``, ``sender``, ``subject``, ``text``, ``occurred_at``; a scheda
  Linea INPS also ``region`` (the CRIC's) and ``cric_section`` (its area: pensioni,
  sostegno_reddito, soggetto_contribuente); a fax its image as ``image_attachment_id``,
  uploaded first through the gateway (``POST /api/v1/attachments`` with a contact-center
  token) by ``uploaded_by`` (that token's sub): the image never travels on the broker.

Invalid messages are dead-lettered by the consumer with the reason; this client validates
before publishing and waits for the broker's confirm, so a returned call means accepted.

    python -m shared.contact_center fax --matricola 7012345678 --sender "Studio Rossi" \\
        --subject "Invio DM10" --text "In allegato il DM10 di marzo"
"""

from __future__ import annotations

import argparse
import json
import os
import uuid
from datetime import UTC, datetime

import pika

from shared.events import CONTACT_CENTER_MESSAGE, InvalidEvent, make_event
from shared.messaging import EVENTS_EXCHANGE_NAME

DEFAULT_AMQP_URI = "amqp://guest:guest@127.0.0.1:5672/"
KINDS = {"fax": "fax_inbound", "outbound": "contact_center_outbound", "scheda": "scheda_linea_inps"}


class ContactCenterPublisher:
    def __init__(self, amqp_uri: str = DEFAULT_AMQP_URI, producer: str = "contact-center"):
        self.producer = producer
        self.connection = pika.BlockingConnection(pika.URLParameters(amqp_uri))
        self.channel = self.connection.channel()
        self.channel.confirm_delivery()  # basic_publish raises unless the broker confirms
        self.channel.exchange_declare(EVENTS_EXCHANGE_NAME, exchange_type="topic", durable=True)

    def publish(
        self,
        *,
        kind: str,
        sender: str,
        subject: str,
        text: str,
        matricola: str | None = None,
        codice_fiscale: str | None = None,
        message_id: str | None = None,
        occurred_at: datetime | None = None,
        region: str | None = None,
        cric_section: str | None = None,
        image_attachment_id: str | None = None,
        uploaded_by: str | None = None,
    ) -> dict:
        """Validate and publish one message; returns the envelope sent."""
        payload = {
            "message_id": message_id or str(uuid.uuid4()),
            "kind": kind,
            "matricola": matricola,
            "codice_fiscale": codice_fiscale,
            "sender": sender,
            "subject": subject,
            "text": text,
            "occurred_at": occurred_at or datetime.now(UTC),
            "region": region,
            "cric_section": cric_section,
            "image_attachment_id": image_attachment_id,
            "uploaded_by": uploaded_by,
        }
        envelope = make_event(CONTACT_CENTER_MESSAGE, payload, producer=self.producer).to_message()
        self.channel.basic_publish(
            exchange=EVENTS_EXCHANGE_NAME,
            routing_key=CONTACT_CENTER_MESSAGE,
            body=json.dumps(envelope).encode("utf-8"),
            properties=pika.BasicProperties(
                content_type="application/json",
                content_encoding="utf-8",
                delivery_mode=2,
                message_id=envelope["event_id"],
            ),
            mandatory=True,  # unroutable (no consumer queue declared) raises instead of vanishing
        )
        return envelope

    def close(self) -> None:
        self.connection.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(
        description="Pubblica un fax in ingresso, una scheda Linea INPS o un outbound del Contact Center"
    )
    parser.add_argument("kind", choices=list(KINDS))
    parser.add_argument("--amqp-uri", default=os.environ.get("AMQP_URI", DEFAULT_AMQP_URI))
    parser.add_argument("--matricola")
    parser.add_argument("--codice-fiscale", dest="codice_fiscale")
    parser.add_argument("--sender", required=True)
    parser.add_argument("--subject", required=True)
    parser.add_argument("--text", required=True)
    parser.add_argument("--message-id", dest="message_id")
    parser.add_argument("--regione", help="scheda: la regione del CRIC")
    parser.add_argument(
        "--sezione", help="scheda: l'area di consulenza (pensioni, sostegno_reddito, soggetto_contribuente)"
    )
    parser.add_argument("--image-attachment-id", help="fax: l'immagine caricata con POST /api/v1/attachments")
    parser.add_argument("--uploaded-by", help="fax: il sub del token con cui l'immagine è stata caricata")
    args = parser.parse_args(argv)
    if not args.matricola and not args.codice_fiscale:
        parser.error("indicare --matricola o --codice-fiscale")
    kind = KINDS[args.kind]
    with ContactCenterPublisher(args.amqp_uri) as publisher:
        try:
            envelope = publisher.publish(
                kind=kind,
                sender=args.sender,
                subject=args.subject,
                text=args.text,
                matricola=args.matricola,
                codice_fiscale=args.codice_fiscale,
                message_id=args.message_id,
                region=args.regione,
                cric_section=args.sezione,
                image_attachment_id=args.image_attachment_id,
                uploaded_by=args.uploaded_by,
            )
        except InvalidEvent as exc:
            parser.error(f"messaggio non valido, nulla è stato pubblicato: {exc.detail}")
    print(f"pubblicato {kind} {envelope['payload']['message_id']} (evento {envelope['event_id']})")


if __name__ == "__main__":
    main()
