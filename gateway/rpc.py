"""The gateway's RPC client: nameko's, except that a missing reply queue fails the pending
calls instead of killing the reply consumer.

nameko's reply consumer, on each (re)connection, checks that its reply queue still exists
when calls are pending, and raises if not: the consumer thread dies and every later call of
the gateway waits for its timeout, for ever. That happens (a) at start, when an HTTP request
arrives before the consumer's first connection has declared the queue (the web server and
the consumer start side by side: seen under load as a `make run` that never got ready), and
(b) when the queue expired during a long broker outage. Here the pending calls fail with a
broker error (the caller answers 503) and the consumer goes on, declaring the queue anew.
"""

from __future__ import annotations

import logging

from nameko.exceptions import ReplyQueueExpiredWithPendingReplies
from nameko.rpc import ClusterRpc, ReplyListener

log = logging.getLogger(__name__)


class RepliesLost(ConnectionError):
    """The replies of these calls cannot arrive (their reply queue was missing)."""


class TolerantReplyListener(ReplyListener):
    def check_for_lost_replies(self):
        try:
            super().check_for_lost_replies()
        except ReplyQueueExpiredWithPendingReplies:
            pending, self.pending = self.pending, {}
            log.warning(
                "reply queue missing with %d pending calls: they fail, the consumer goes on", len(pending)
            )
            for reply_event in pending.values():
                reply_event.send_exception(RepliesLost("risposta RPC persa: coda di risposta assente"))


class GatewayRpc(ClusterRpc):
    reply_listener = TolerantReplyListener()
