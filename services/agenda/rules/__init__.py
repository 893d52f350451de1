"""Agenda's rules as plain functions: eligibility (``eligibility``), the slots a punto di
consulenza offers (``slots``) and what a booking must satisfy (``booking``)."""

from services.agenda.rules.eligibility import booking_allowed, booking_possible_from

__all__ = ["booking_allowed", "booking_possible_from"]
