"""Monthly reports of the Direzioni regionali (msg 2614/2018): the list, and each report's PDF,
CSV or XLSX, streamed by the gateway from the object store (``gateway.downloads``).

Who reads which region's reports is decided by reporting (``shared.access``: a regional
director their region's, a national director and an admin all); the gateway refuses first the
roles that never read reports.
"""

from __future__ import annotations

from gateway import downloads
from gateway.api.base import GatewayBase, route
from shared import access, contracts
from shared.errors import InvalidInput, field_error

FILE_RESPONSE = {
    "description": "Il file del report (application/pdf, text/csv o l'XLSX di Excel)",
    "headers": {
        "Content-Disposition": {"schema": {"type": "string"}, "description": "attachment; filename=..."},
        "Content-Length": {"schema": {"type": "integer"}},
        "X-Content-Type-Options": {"schema": {"type": "string"}, "description": "nosniff"},
        "Cache-Control": {"schema": {"type": "string"}, "description": "private, no-store"},
    },
    "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
}


def _reader(caller) -> None:
    access.report_region_scope(caller)


def _known_format(value: str) -> None:
    """pdf, csv or xlsx (a malformed report id answers 404, like an unknown one)."""
    if value not in contracts.REPORT_FORMATS:
        raise InvalidInput.from_errors(
            [field_error("format", "invalid_field", "Formato non valido: usare pdf, csv o xlsx.")]
        )


class ReportsApi(GatewayBase):
    @route(
        "GET",
        "/api/v1/reports",
        "Report mensili pubblicati (direttori regionali: la propria regione; nazionali: tutte)",
        query=contracts.ReportsQuery,
        access=_reader,
        output=contracts.ReportOutput,
        many=True,
        rules={403: ("outside_scope",)},
    )
    def list_reports(self, call):
        return self._call("reporting", "list_reports", call.caller, call.query)

    @route(
        "GET",
        "/api/v1/reports/{report_id}/{format}",
        "Scarica un report mensile in PDF, CSV o XLSX (404 per i report di altre regioni)",
        path_schema=contracts.ReportPath,
        path_checks={"format": _known_format},
        access=_reader,
        response=FILE_RESPONSE,
        rules={404: ("report_not_found",)},
    )
    def download_report(self, call, report_id, format):  # noqa: A002 - the path's own name
        found = self._call("reporting", "report_download", call.caller, report_id, format)
        return downloads.stream_attachment(found)
