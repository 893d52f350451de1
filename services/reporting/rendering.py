"""A monthly report's files, from its figures (the dashboard's, for the region and the month):
CSV (one row per sede and subject, then the changes of subject and the Customer Care), XLSX
(openpyxl: one sheet per table) and PDF (ReportLab: the tables and a bar chart of each sede's
threshold indicator). Plain functions of data, no database, no storage."""

from __future__ import annotations

import csv
import io

from openpyxl import Workbook
from openpyxl.styles import Font
from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import cm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

COLUMNS = (
    ("submitted", "Inviate"),
    ("closed_within_sla", "Chiuse entro soglia"),
    ("closed_late", "Chiuse oltre soglia"),
    ("open", "Aperte"),
    ("open_past_sla", "Aperte scadute"),
    ("threshold_indicator", "Indicatore tempo soglia"),
    ("backlog_index", "Indice di giacenza"),
    ("average_closing_days", "Giorni medi di chiusura"),
)
# Customer Care (Agenda Appuntamenti): the appointments of the month
CARE_COLUMNS = (
    ("booked", "Prenotati"),
    ("due", "Dovuti"),
    ("held", "Svolti"),
    ("no_show", "Non presentati"),
    ("cancelled_by_office", "Disdetti dalla sede"),
    ("held_share", "Quota svolti"),
    ("no_show_rate", "Tasso di mancata presentazione"),
    ("days_to_appointment_average", "Giorni alla data: media"),
    ("days_to_appointment_median", "Giorni alla data: mediana"),
)
FORMATS = {
    "pdf": "application/pdf",
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _value(value):
    if isinstance(value, float):
        return round(value, 4)
    return "" if value is None else value


def _rows(report: dict) -> list[list]:
    """Region total, then each sede, then each subject: the CSV's and the first sheet's rows."""
    indicators = report["indicators"]
    rows = [["regione", report["region"], "", *(_value(indicators["totals"][key]) for key, _ in COLUMNS)]]
    for child in indicators["children"]:
        rows.append(["sede", child["code"], child["name"] or "", *(_value(child[key]) for key, _ in COLUMNS)])
    for subject in indicators["subjects"]:
        rows.append(
            [
                "oggetto",
                subject["subject"],
                f"{subject['sla_days']} giorni",
                *(_value(subject[key]) for key, _ in COLUMNS),
            ]
        )
    return rows


def _care_rows(report: dict) -> list[list]:
    """The region's Customer Care, then each sede's (first column "agenda …": not the
    indicators' rows)."""
    care = report["customer_care"]
    rows = [
        ["agenda regione", report["region"], "", *(_value(care["totals"][key]) for key, _ in CARE_COLUMNS)]
    ]
    for child in care["children"]:
        rows.append(
            [
                "agenda sede",
                child["code"],
                child["name"] or "",
                *(_value(child[key]) for key, _ in CARE_COLUMNS),
            ]
        )
    return rows


HEADER = ["livello", "codice", "nome", *(label for _, label in COLUMNS)]
CARE_HEADER = ["customer care", "codice", "nome", *(label for _, label in CARE_COLUMNS)]


def render_csv(report: dict) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";")
    writer.writerow(HEADER)
    writer.writerows(_rows(report))
    for change in report["subject_changes"]["by_sede"]:
        writer.writerow(["cambio oggetto", change["sede"], change["name"] or "", change["from_subject"],
                         change["to_subject"], change["changes"]])  # fmt: skip
    writer.writerow(CARE_HEADER)
    writer.writerows(_care_rows(report))
    return buffer.getvalue().encode("utf-8-sig")  # the BOM: a spreadsheet opens the accents right


def render_xlsx(report: dict) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Indicatori"
    sheet.append(HEADER)
    for row in _rows(report):
        sheet.append(row)
    changes = workbook.create_sheet("Cambio oggetto")
    changes.append(["sede", "nome", "da oggetto", "a oggetto", "cambi"])
    for change in report["subject_changes"]["by_sede"]:
        changes.append(
            [
                change["sede"],
                change["name"] or "",
                change["from_subject"],
                change["to_subject"],
                change["changes"],
            ]
        )
    care = workbook.create_sheet("Customer Care")
    care.append(CARE_HEADER)
    for row in _care_rows(report):
        care.append(row)
    for each in (sheet, changes, care):
        for cell in each[1]:
            cell.font = Font(bold=True)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _chart(children: list[dict]) -> Drawing:
    drawing = Drawing(24 * cm, 7 * cm)
    chart = VerticalBarChart()
    chart.x, chart.y, chart.width, chart.height = 1.5 * cm, 1.2 * cm, 21 * cm, 5 * cm
    chart.data = [[(child["threshold_indicator"] or 0) * 100 for child in children] or [0]]
    chart.categoryAxis.categoryNames = [child["code"] for child in children] or [""]
    chart.categoryAxis.labels.fontSize = 7
    chart.valueAxis.valueMin, chart.valueAxis.valueMax, chart.valueAxis.valueStep = 0, 100, 20
    chart.bars[0].fillColor = colors.HexColor("#0066cc")
    drawing.add(chart)
    return drawing


def render_pdf(report: dict) -> bytes:
    styles = getSampleStyleSheet()
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer, pagesize=landscape(A4), title=report["title"], leftMargin=1.5 * cm, rightMargin=1.5 * cm
    )
    grid = TableStyle(
        [
            ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e6eef7")),
            ("FONTSIZE", (0, 0), (-1, -1), 7),
        ]
    )
    story = [
        Paragraph(report["title"], styles["Title"]),
        Paragraph(
            f"Richieste inviate dal {report['first_day']} al {report['last_day']}, misurate il "
            f"{report['as_of']} (generato il {report['generated_at'][:10]}). Indicatore tempo soglia: "
            "chiuse entro n giorni ÷ (chiuse + aperte scadute); "
            "indice di giacenza: aperte non scadute ÷ aperte.",
            styles["Normal"],
        ),
        Spacer(1, 0.4 * cm),
        Table([HEADER, *_rows(report)], repeatRows=1, style=grid),
        Spacer(1, 0.4 * cm),
        Paragraph("Indicatore tempo soglia per sede (%)", styles["Heading3"]),
        _chart(report["indicators"]["children"]),
        Paragraph("Cambio oggetto per lavorazione", styles["Heading3"]),
        Table(
            [["sede", "nome", "da oggetto", "a oggetto", "cambi"]]
            + [
                [c["sede"], c["name"] or "", c["from_subject"], c["to_subject"], c["changes"]]
                for c in report["subject_changes"]["by_sede"]
            ],
            repeatRows=1,
            style=grid,
        ),
        Paragraph("Customer Care – Agenda Appuntamenti (appuntamenti del mese)", styles["Heading3"]),
        Paragraph(
            "Quota svolti: svolti ÷ dovuti (con esito, o giorno passato e non disdetti dal richiedente); "
            "tasso di mancata presentazione: non presentati ÷ (svolti + non presentati); giorni alla "
            "data: dal giorno della prenotazione al giorno dell'appuntamento.",
            styles["Normal"],
        ),
        Table([CARE_HEADER, *_care_rows(report)], repeatRows=1, style=grid),
    ]
    document.build(story)
    return buffer.getvalue()


RENDERERS = {"pdf": render_pdf, "csv": render_csv, "xlsx": render_xlsx}
