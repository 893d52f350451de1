"""The new-request form of the console: its fields as the API's submission body, the checks
done before any file is stored, and the API's errors put beside the field they name.

The checks here only spare a user a round trip with files (and the files stored for nothing);
intake checks everything again, and its answer is the one that counts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gateway.api.requests import UPLOAD_MAX_BYTES
from shared import access, contracts
from shared.errors import InvalidInput
from shared.identifiers import IdentifierError, check_codice_fiscale_persona

CASSETTO_MAX_FILES = 3
PATRONATO_MAX_TOTAL = UPLOAD_MAX_BYTES  # 6 MB in all (COMBIPAT)
FORM_OVERHEAD = 256 * 1024
# the most a request form may carry: three files of 6 MB (Cassetto), 6 MB in all (patronato)
FORM_MAX_BYTES = CASSETTO_MAX_FILES * UPLOAD_MAX_BYTES + FORM_OVERHEAD

# the API's field (as intake names it) → the form's field
API_FIELDS = {
    "subject": "subject",
    "text": "text",
    "case_identifier": "identifier_value",
    "case_identifier.kind": "identifier_kind",
    "case_identifier.value": "identifier_value",
    "citizen": "codice_fiscale",
    "citizen.codice_fiscale": "codice_fiscale",
    "citizen.cap": "cap",
    "matricola": "matricola",
    "cric_section": "cric_section",
    "contacts.email": "email",
    "contacts.sms": "sms",
    "attachments": "allegati",
    "file": "allegati",
    "parent_id": "subject",
}
LABELS = {
    "subject": "Oggetto",
    "text": "Testo della richiesta",
    "identifier_kind": "Tipo di identificativo",
    "identifier_value": "Identificativo della pratica",
    "codice_fiscale": "Codice fiscale del cittadino",
    "cap": "CAP di residenza",
    "matricola": "Matricola",
    "cric_section": "Sezione del CRIC",
    "email": "E-mail di contatto",
    "sms": "Cellulare per SMS",
    "allegati": "Allegati",
    "form": "Richiesta",
}
TEXT_FIELDS = (
    "subject",
    "text",
    "identifier_kind",
    "identifier_value",
    "codice_fiscale",
    "cap",
    "matricola",
    "cric_section",
    "email",
    "sms",
)


def form_field(api_field: str) -> str:
    if api_field in API_FIELDS:
        return API_FIELDS[api_field]
    head = api_field.split(".", 1)[0]
    return API_FIELDS.get(head, "form")


@dataclass
class FormErrors:
    """Errors by form field, each with the API's code and its Italian detail."""

    by_field: dict[str, list[dict]] = field(default_factory=dict)

    def add(self, name: str, code: str, detail: str) -> None:
        self.by_field.setdefault(name, []).append({"code": code, "detail": detail})

    def add_problem(self, problem: InvalidInput) -> None:
        for error in problem.errors or [{"field": "form", "code": problem.code, "detail": problem.detail}]:
            self.add(form_field(error.get("field") or ""), error.get("code") or problem.code, error["detail"])

    def summary(self) -> list[dict]:
        return [
            {"field": name, "label": LABELS.get(name, name), **error}
            for name, errors in self.by_field.items()
            for error in errors
        ]

    def __bool__(self) -> bool:
        return bool(self.by_field)


def values_of(form) -> dict:
    return {name: (form.get(name) or "").strip() for name in TEXT_FIELDS}


def submission_body(caller, values: dict, attachment_ids: list[str]) -> dict:
    """The API's submission body from the form's values (empty fields left out)."""
    body: dict = {"subject": values["subject"], "text": values["text"], "attachments": attachment_ids}
    if values["identifier_value"]:
        body["case_identifier"] = {"kind": values["identifier_kind"], "value": values["identifier_value"]}
    if caller.role in access.PATRONATO_ROLES and (values["codice_fiscale"] or values["cap"]):
        body["citizen"] = {"codice_fiscale": values["codice_fiscale"].upper(), "cap": values["cap"]}
    if caller.role in access.CASSETTO_ROLES:
        body["matricola"] = values["matricola"]
    if values["cric_section"]:
        body["cric_section"] = values["cric_section"]
    contacts = {key: values[key] for key in ("email", "sms") if values[key]}
    if contacts:
        body["contacts"] = contacts
    return body


def precheck(caller, body: dict, files: list[tuple[str, int]]) -> FormErrors:
    """What can be told before storing any file: the body's shape, the codice fiscale and
    the CAP as written, the number and total size of the files."""
    errors = FormErrors()
    try:
        contracts.load(contracts.RequestSubmissionInput, body)
    except InvalidInput as problem:
        errors.add_problem(problem)
    citizen = body.get("citizen") or {}
    if citizen.get("codice_fiscale"):
        try:
            check_codice_fiscale_persona(citizen["codice_fiscale"])
        except IdentifierError as exc:
            errors.add("codice_fiscale", exc.code, exc.detail)
    if citizen.get("cap") and not (len(citizen["cap"]) == 5 and citizen["cap"].isdigit()):
        errors.add("cap", "invalid_cap", "Il CAP deve essere composto da 5 cifre.")
    if caller.role in access.CASSETTO_ROLES and len(files) > CASSETTO_MAX_FILES:
        errors.add(
            "allegati", "too_many_attachments", f"Si possono allegare al massimo {CASSETTO_MAX_FILES} file."
        )
    if caller.role in access.PATRONATO_ROLES and sum(size for _, size in files) > PATRONATO_MAX_TOTAL:
        errors.add(
            "allegati", "attachments_too_large", "Gli allegati superano il limite di 6 MB complessivi."
        )
    for name, size in files:
        if size > UPLOAD_MAX_BYTES:
            errors.add("allegati", "file_too_large", f"Il file {name} supera la dimensione massima di 6 MB.")
    return errors


def file_size(upload) -> int:
    stream = upload.stream
    position = stream.tell()
    stream.seek(0, 2)
    size = stream.tell()
    stream.seek(position)
    return size


def problem_errors(problem: InvalidInput) -> FormErrors:
    errors = FormErrors()
    errors.add_problem(problem)
    return errors
