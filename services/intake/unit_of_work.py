"""The unit of work of an intake use case: the repositories of one transaction, its clock,
and the events the requests recorded, added to the outbox when the use case commits.

``SqlUnitOfWork`` works inside a transaction its creator opened and ends: the service's
``db.begin()``, or ``apply_once``, which records the handled event in the inbox in the
same transaction. ``commit()`` adds the recorded events to the outbox (``add_event``) and
flushes, so the changes and the events they caused are committed together, or, if
anything raises before the transaction ends, neither. ``InMemoryUnitOfWork`` keeps
everything in dictionaries and the events in a list, for tests without a database.
"""

from __future__ import annotations

from collections.abc import Iterator

from services.intake.aggregate import RecordedEvent
from services.intake.repository import (
    InMemoryAttachments,
    InMemoryGrants,
    InMemoryRequests,
    SqlAttachments,
    SqlGrants,
    SqlRequests,
)
from shared.events import Event, make_event
from shared.outbox import add_event

PRODUCER = "intake"


class UnitOfWork:
    requests: SqlRequests | InMemoryRequests
    attachments: SqlAttachments | InMemoryAttachments
    grants: SqlGrants | InMemoryGrants

    def __init__(self, clock, correlation_id: str | None = None):
        self.clock = clock
        self.correlation_id = correlation_id  # carried by every event of this unit of work

    def commit(self) -> None:
        for recorded in self.collect_new_events():
            # stamped one by one, as they are added: the relay publishes in this order
            self._add_to_outbox(
                make_event(
                    recorded.type,
                    recorded.payload,
                    producer=PRODUCER,
                    correlation_id=self.correlation_id,
                    occurred_at=self.clock.now(),
                )
            )
        self._save()

    def collect_new_events(self) -> Iterator[RecordedEvent]:
        for request in self.requests.seen:
            while request.events:
                yield request.events.pop(0)

    def _add_to_outbox(self, event: Event) -> None:
        raise NotImplementedError

    def _save(self) -> None:
        raise NotImplementedError


class SqlUnitOfWork(UnitOfWork):
    def __init__(self, session, clock, correlation_id: str | None = None):
        super().__init__(clock, correlation_id)
        self.session = session
        self.requests = SqlRequests(session)
        self.attachments = SqlAttachments(session)
        self.grants = SqlGrants(session)

    def _add_to_outbox(self, event: Event) -> None:
        add_event(self.session, event)

    def _save(self) -> None:
        self.session.flush()


class InMemoryUnitOfWork(UnitOfWork):
    def __init__(self, clock, correlation_id: str | None = None, *, requests=(), attachments=(), grants=()):
        super().__init__(clock, correlation_id)
        self.requests = InMemoryRequests(requests)
        self.attachments = InMemoryAttachments(attachments)
        self.grants = InMemoryGrants(grants)
        self.outbox: list[Event] = []
        self.committed = False

    def _add_to_outbox(self, event: Event) -> None:
        self.outbox.append(event)

    def _save(self) -> None:
        self.committed = True
