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

# The steps of a request's history: what happened, besides the state it led to. A step
# that leaves the state as it was is recorded for its comment (an answer with a comment to
# a request already in charge) or for what it changed (a change of subject).
STEP_SUBMITTED = "submitted"
STEP_SENT = "sent"  # a message that starts at an office
STEP_TAKEN = "taken_in_charge"
STEP_ANSWERED = "answered"
STEP_CLOSED = "closed"
STEP_SUBJECT_CHANGED = "subject_changed"
STEP_REOPENED = "reopened"
HISTORY_STEPS = (
    STEP_SUBMITTED,
    STEP_SENT,
    STEP_TAKEN,
    STEP_ANSWERED,
    STEP_CLOSED,
    STEP_SUBJECT_CHANGED,
    STEP_REOPENED,
)

# Where a request comes from: the two channels of the requesters, a fax turned into a
# request by the contact center, a "scheda Linea INPS" the contact center sends to the
# regional CRIC (circ. 135/2011), and the messages an office or the contact center starts.
ORIGIN_CASSETTO = "cassetto"
ORIGIN_PATRONATO = "patronato"
ORIGIN_FAX = "fax"
ORIGIN_LINEA_INPS = "linea_inps"
ORIGIN_CONTACT_CENTER = "contact_center"
ORIGIN_SEDE = "sede"
ORIGINS = (
    ORIGIN_CASSETTO,
    ORIGIN_PATRONATO,
    ORIGIN_FAX,
    ORIGIN_LINEA_INPS,
    ORIGIN_CONTACT_CENTER,
    ORIGIN_SEDE,
)
# the others start at an office
ROUTED_ORIGINS = (ORIGIN_PATRONATO, ORIGIN_CASSETTO, ORIGIN_FAX, ORIGIN_LINEA_INPS)
OUTBOUND_ORIGINS = (ORIGIN_SEDE, ORIGIN_CONTACT_CENTER)

# Days an official has to close, by subject (COMBIPAT 2021 catalog, Cassetto bidirezionale).
SLA_DAYS = (5, 10, 15, 25)

# COMBIPAT msg 3813/2021: without an answer, a reminder from the 15th day, and booking an
# appointment once *more than* 15 days have passed; after the first answer, at most two
# further interactions. Agenda's booking eligibility reads them here; intake reads each
# channel's follow-ups and reminder from its catalog (``channels``, with the seed of each:
# the Cassetto has neither), and falls back on these for a channel it does not describe.
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

# The three sections of every CRIC (circ. 135/2011, seed 001): a referente regionale's
# question and a contact-center scheda Linea INPS name the one they concern.
CRIC_SECTIONS = {
    "pensioni": "Pensioni",
    "sostegno_reddito": "Prestazioni a sostegno del reddito",
    "soggetto_contribuente": "Soggetto contribuente",
}
