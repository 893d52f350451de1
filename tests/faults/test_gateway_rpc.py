"""The gateway's reply consumer survives a missing reply queue (a call made before its first
connection, or a queue expired during a broker outage): the pending calls fail at once."""

from __future__ import annotations

import uuid

import eventlet
import pytest
from eventlet.event import Event
from kombu import Queue
from nameko import config

from gateway.rpc import RepliesLost, TolerantReplyListener


def test_pending_calls_fail_instead_of_the_consumer_when_the_reply_queue_is_missing(infra):
    listener = TolerantReplyListener()
    listener.queue = Queue(f"rpc.reply-gateway-missing-{uuid.uuid4().hex}")
    waiting = Event()
    listener.pending = {"corr-1": waiting}

    with config.patch({"AMQP_URI": infra.amqp_uri}):
        listener.check_for_lost_replies()  # nameko's own raises ReplyQueueExpiredWithPendingReplies

    assert listener.pending == {}
    with eventlet.Timeout(5), pytest.raises(RepliesLost):
        waiting.wait()
