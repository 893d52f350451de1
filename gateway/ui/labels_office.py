"""Italian words for the API's codes on the office, dashboard and agenda screens."""

from __future__ import annotations

STATES = {"open": "Aperta", "in_progress": "In carico", "closed": "Chiusa"}
ORIGINS = {
    "patronato": "Patronato",
    "cassetto": "Cassetto previdenziale",
    "fax": "Fax",
    "linea_inps": "Linea INPS",
    "contact_center": "Contact center",
    "sede": "Sede",
}
STEPS = {
    "submitted": "Inviata",
    "sent": "Inviata dalla sede",
    "taken_in_charge": "Presa in carico",
    "answered": "Risposta",
    "closed": "Chiusa",
    "subject_changed": "Cambio oggetto",
    "reopened": "Riaperta",
}
MESSAGE_KINDS = {
    "answer": "Risposta della sede",
    "followup": "Ulteriore interazione",
    "reminder": "Sollecito",
}
MODALITIES = {"in_person": "In presenza", "phone": "Telefonica", "web_meeting": "Web meeting"}
APPOINTMENT_STATES = {
    "confirmed": "Confermato",
    "held": "Svolto",
    "no_show": "Cittadino assente",
    "cancelled_by_requester": "Annullato dal richiedente",
    "cancelled_by_office": "Annullato dalla sede",
}
LEVELS = {"national": "Italia", "region": "Regione", "sede": "Sede", "triage": "Smistamento"}
BUCKETS = {
    "all": "Tutte",
    "open": "Aperte",
    "open_within_sla": "Aperte nei termini",
    "open_past_sla": "Aperte scadute",
    "closed": "Chiuse",
    "closed_within_sla": "Chiuse nei termini",
    "closed_late": "Chiuse oltre i termini",
}
RECIPIENT_KINDS = {"azienda": "Azienda", "intermediario": "Intermediario", "patronato": "Patronato"}

ALL = {
    "STATI": STATES,
    "PROVENIENZE": ORIGINS,
    "PASSI": STEPS,
    "MESSAGGI": MESSAGE_KINDS,
    "MODALITA": MODALITIES,
    "STATI_APPUNTAMENTO": APPOINTMENT_STATES,
    "LIVELLI": LEVELS,
    "INSIEMI": BUCKETS,
    "DESTINATARI": RECIPIENT_KINDS,
}
