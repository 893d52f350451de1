"""The web console under ``/ui``: server-rendered pages (Jinja2, htmx) on the same RPCs and
the same access policy as the API. See ``console.py`` for how a page is declared."""
