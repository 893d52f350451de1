"""The words and numbers of the brief that more than one service uses, defined once.

A service keeps to itself what only it needs; what two services (or a service and the
gateway's contract) must agree on lives here.
"""

from __future__ import annotations

# A request's states, in the order they are reached; the one way back is a follow-up that
# reopens a request closed with its first answer (closed -> in_progress, msg 3813/2021).
STATE_OPEN = "open"
STATE_IN_PROGRESS = "in_progress"
STATE_CLOSED = "closed"
STATES = (STATE_OPEN, STATE_IN_PROGRESS, STATE_CLOSED)

# Where a request comes from: the two channels of the requesters, a fax turned into a
# request by the contact center, and the messages an office or the contact center starts.
ORIGIN_CASSETTO = "cassetto"
ORIGIN_PATRONATO = "patronato"
ORIGIN_FAX = "fax"
ORIGIN_CONTACT_CENTER = "contact_center"
ORIGIN_SEDE = "sede"
ORIGINS = (ORIGIN_CASSETTO, ORIGIN_PATRONATO, ORIGIN_FAX, ORIGIN_CONTACT_CENTER, ORIGIN_SEDE)
ROUTED_ORIGINS = (ORIGIN_PATRONATO, ORIGIN_CASSETTO, ORIGIN_FAX)  # the others start at an office
OUTBOUND_ORIGINS = (ORIGIN_SEDE, ORIGIN_CONTACT_CENTER)

# Days an official has to close, by subject (COMBIPAT 2021 catalog, Cassetto bidirezionale).
SLA_DAYS = (5, 10, 15, 25)

# COMBIPAT msg 3813/2021: without an answer, a reminder from the 15th day, and booking an
# appointment once *more than* 15 days have passed; after the first answer, at most two
# further interactions.
DAYS_WITHOUT_ANSWER = 15
MAX_FOLLOWUPS = 2


# The kinds of notice notify sends (its rules say who gets each, on which channels): the
# inbox filter and the preferences accept these codes.
NOTICE_KINDS = (
    "protocol_registered",
    "request_routed",
    "request_reassigned",
    "request_taken_in_charge",
    "request_answered",
    "request_closed",
    "outbound_message",
    "appointment_booked",
    "appointment_cancelled",
    "appointment_reminder",
)
