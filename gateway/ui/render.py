"""Jinja2 pages with the console's security headers.

Autoescape is on for every template; nothing inline runs (the Content-Security-Policy allows
scripts and styles from this origin only), so a value that slipped through a template still
cannot execute.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from werkzeug.wrappers import Response

from shared.clock import ROME

TEMPLATES = Path(__file__).resolve().parent / "templates"
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
HTML = "text/html; charset=utf-8"


WEEKDAYS = ("lunedì", "martedì", "mercoledì", "giovedì", "venerdì", "sabato", "domenica")


def local_time(value, fmt: str = "%d/%m/%Y %H:%M") -> str:
    """A date or an instant as people in Italy read it: ISO strings accepted (as the API
    answers); an instant with its zone (the API's are UTC) on Italy's clock, so a request
    sent at 00:30 in Rome reads the day it was sent; a plain date as it is. ``%A`` is the
    weekday in Italian whatever the process's locale."""
    if not value:
        return ""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
    if isinstance(value, datetime) and value.tzinfo is not None:
        value = value.astimezone(ROME)
    if isinstance(value, (date, datetime)):
        return value.strftime(fmt.replace("%A", WEEKDAYS[value.weekday()]))
    return str(value)


def _date(value) -> str:
    return local_time(value, "%d/%m/%Y")


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html", "svg"], default_for_string=True),
        undefined=StrictUndefined,  # a misspelt name fails the test that renders it
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["data"] = _date
    env.filters["data_ora"] = local_time
    return env


ENVIRONMENT = _environment()


def secure(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["X-Frame-Options"] = "DENY"
    return response


def render(template: str, status: int = 200, **context) -> Response:
    """``template`` rendered with ``context``; never cached (pages show personal data)."""
    html = ENVIRONMENT.get_template(template).render(**context)
    response = Response(html, status=status, content_type=HTML)
    response.headers["Cache-Control"] = "no-store"
    return secure(response)


def redirect(location: str, status: int = 303) -> Response:
    """After a form: 303 to the page to show. htmx follows it itself; ``HX-Redirect`` makes it
    load the whole page rather than swap the answer into the form."""
    response = Response("", status=status, headers={"Location": location, "HX-Redirect": location})
    return secure(response)
