"""Pages of the console, and how one is declared.

``page(method, path)`` is the console's ``route``: it finds the user (``session``), checks the
form token on every POST, runs the handler with a ``View`` and turns a refusal into the page
of the same status the API would answer (401 → the sign-in page, 403, 404, 409, 422 …). The
handler asks the API's operations through ``View.api`` (``calls.call_api``) and returns
``render(...)`` or ``redirect(...)``.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import quote, urlsplit

from nameko import config
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Request, Response

from gateway.api.base import GatewayBase
from gateway.auth import DEFAULT_MAX_LIFETIME, issue_token
from gateway.entrypoints import http
from gateway.ui import session, static
from gateway.ui.calls import call_api
from gateway.ui.nav import home_for, menu_for
from gateway.ui.presets import PRESETS, preset_claims
from gateway.ui.render import redirect, render
from shared.access import Caller
from shared.errors import NotFound, PayloadTooLarge, ProblemError, Unauthorized

log = logging.getLogger(__name__)

SIGN_IN = "/ui/accesso"


@dataclass
class View:
    """What a page handler receives: the request, the user, and the means to ask the API."""

    service: GatewayBase
    request: Request
    caller: Caller | None
    csrf: str = ""
    extra: dict = field(default_factory=dict)

    def api(self, operation, *, body=None, query=None, **params):
        return call_api(self.service, operation, self.caller, self.request, body=body, query=query, **params)

    def render(self, template: str, status: int = 200, **context) -> Response:
        return render(template, status, **self.context(), **context)

    def context(self) -> dict:
        return {
            "caller": self.caller,
            "menu": menu_for(self.caller),
            "current_path": self.request.path,
            "csrf": self.csrf,
            "static": static.url,
            "development": session.development(),
        }


def _safe_next(target: str | None) -> str:
    """Only a path of the console itself: never an address elsewhere (open redirect)."""
    if not target or not target.startswith("/ui") or target.startswith("//"):
        return "/ui"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return "/ui"
    return target[:512]


def _problem_page(view: View, problem: ProblemError) -> Response:
    if problem.status == 401:
        response = redirect(
            f"{SIGN_IN}?next={quote(view.request.full_path.rstrip('?'))}&motivo={problem.code}"
        )
        session.clear_cookie(response)
        return response
    (log.warning if problem.status >= 500 else log.info)(
        "%s %s: %s %s", view.request.method, view.request.path, problem.status, problem.code
    )
    return view.render("errore.html", status=problem.status, problem=problem.as_problem())


def page(method: str, path: str, *, public: bool = False, max_body: int | None = None):
    """``max_body``: the largest body the page reads (a form with files); set before the form
    token is read, which parses the form."""

    def decorator(handler):
        @functools.wraps(handler)
        def entrypoint(self, request, **params):
            view = View(self, request, None)
            if max_body is not None:
                request.max_content_length = max_body
            try:
                if not public:
                    session_token = session.token(request)
                    if session_token is None:
                        raise Unauthorized("missing_token", "Accesso richiesto.")
                    view.caller = self.tokens.caller(f"Bearer {session_token}")
                    view.csrf = session.csrf_token(session_token, self.tokens.settings.secret)
                    if request.method == "POST":
                        session.check_csrf(request, session_token, self.tokens.settings.secret)
                return handler(self, view, **params)
            except RequestEntityTooLarge:
                too_large = PayloadTooLarge(
                    "body_too_large", "I dati inviati superano la dimensione massima."
                )
                return _problem_page(view, too_large)
            except ProblemError as problem:
                return _problem_page(view, problem)
            except Exception:
                log.exception("unexpected error in console page %s %s", request.method, request.path)
                problem = {
                    "status": 500,
                    "code": "internal_error",
                    "title": "Errore interno",
                    "detail": "Si è verificato un errore imprevisto. Riprovare più tardi.",
                }
                return view.render("errore.html", status=500, problem=problem)

        return http(method, path)(entrypoint)

    return decorator


class ConsoleUi(GatewayBase):
    """Sign-in, home, sign-out and static files; the screens live in the other modules."""

    @page("GET", "/ui")
    def ui_home(self, view: View):
        return redirect(home_for(view.caller))

    @page("GET", "/ui/profilo")
    def ui_profile(self, view: View):
        return view.render("profilo.html")

    @page("GET", "/ui/accesso", public=True)
    def ui_sign_in(self, view: View):
        return view.render(
            "accesso.html",
            presets=PRESETS,
            next=_safe_next(view.request.args.get("next")),
            reason=view.request.args.get("motivo", "")[:40],
            login_url=config.get("CONSOLE_LOGIN_URL") or "",
        )

    @page("POST", "/ui/accesso", public=True)
    def ui_sign_in_post(self, view: View):
        if not session.development():
            raise NotFound("not_found", "Pagina non trovata.")
        claims = preset_claims(view.request.form)
        lifetime = timedelta(hours=8)
        token = issue_token(
            self.tokens.settings.secret, lifetime=min(lifetime, DEFAULT_MAX_LIFETIME), **claims
        )
        response = redirect(_safe_next(view.request.form.get("next")))
        session.set_cookie(response, token, int(lifetime.total_seconds()))
        return response

    @page("POST", "/ui/esci")
    def ui_sign_out(self, view: View):
        response = redirect(SIGN_IN)
        session.clear_cookie(response)
        return response

    @http("GET", "/ui/static/<string:version>/<path:name>")
    def ui_static(self, request, version, name):
        answer = static.response(request, name)
        if answer is None:
            return render("errore.html", 404, problem=_not_found(), **_bare_context())
        return answer


def _not_found() -> dict:
    return {"status": 404, "code": "not_found", "title": "Non trovato", "detail": "Risorsa non trovata."}


def _bare_context() -> dict:
    return {
        "caller": None,
        "menu": [],
        "current_path": "",
        "csrf": "",
        "static": static.url,
        "development": False,
    }
