"""``insert``: PostgreSQL's INSERT ... ON CONFLICT, with SQLAlchemy's statement cache.

SQLAlchemy 2.0 never caches the compiled SQL of ``sqlalchemy.dialects.postgresql.insert``
(its ``Insert`` says ``inherit_cache = False`` and the ON CONFLICT clauses have no cache
key): every execution compiles the statement again, a millisecond or more of CPU. Every
event of every consumer goes through one (the inbox), and the projections are upserts, so
profiles of the pipeline showed compiling as one of the largest costs.

This ``Insert`` is the same construct with a cache key: the ON CONFLICT clauses declare what
they are made of (the target, the SET pairs, the WHERE clauses), and the values of SET are
turned into bound parameters of the column's type when the statement is built (the compiler
would do it later otherwise, out of the cache key's sight, and a cached statement would
then keep the first literal). Statements of the same shape share one compiled form; their
values travel as parameters, as with any cached Core statement.
"""

from __future__ import annotations

from sqlalchemy.dialects.postgresql import dml as pg_dml
from sqlalchemy.sql import coercions, roles
from sqlalchemy.sql.base import _generative
from sqlalchemy.sql.visitors import InternalTraversal

__all__ = ["insert"]

_TARGET = [
    ("constraint_target", InternalTraversal.dp_string),
    ("inferred_target_elements", InternalTraversal.dp_multi_list),
    ("inferred_target_whereclause", InternalTraversal.dp_clauseelement),
]


class OnConflictDoNothing(pg_dml.OnConflictDoNothing):
    _traverse_internals = _TARGET


class OnConflictDoUpdate(pg_dml.OnConflictDoUpdate):
    _traverse_internals = _TARGET + [
        ("update_values_to_set", InternalTraversal.dp_dml_ordered_values),
        ("update_whereclause", InternalTraversal.dp_clauseelement),
    ]

    def __init__(self, table, constraint=None, index_elements=None, index_where=None, set_=None, where=None):
        super().__init__(constraint, index_elements, index_where, set_, where)
        self.update_values_to_set = [
            (key, _as_expression(table, key, value)) for key, value in self.update_values_to_set
        ]


def _column(table, key):
    if isinstance(key, str):
        return table.c.get(key)
    element = key.__clause_element__() if hasattr(key, "__clause_element__") else key
    return element if getattr(element, "type", None) is not None else None


def _as_expression(table, key, value):
    """An SQL expression for a SET value: a plain Python value becomes a bound parameter of
    the column's type (part of the cache key's parameters, not of its shape)."""
    column = _column(table, key)
    if column is None:
        raise ValueError(f"ON CONFLICT DO UPDATE: colonna sconosciuta {key!r}")
    return coercions.expect(roles.ExpressionElementRole, value, type_=column.type)


class Insert(pg_dml.Insert):
    inherit_cache = True

    @_generative
    @pg_dml.Insert._on_conflict_exclusive
    def on_conflict_do_update(
        self, constraint=None, index_elements=None, index_where=None, set_=None, where=None
    ) -> Insert:
        self._post_values_clause = OnConflictDoUpdate(
            self.table, constraint, index_elements, index_where, set_, where
        )
        return self

    @_generative
    @pg_dml.Insert._on_conflict_exclusive
    def on_conflict_do_nothing(self, constraint=None, index_elements=None, index_where=None) -> Insert:
        self._post_values_clause = OnConflictDoNothing(constraint, index_elements, index_where)
        return self


def insert(table) -> Insert:
    """Like ``sqlalchemy.dialects.postgresql.insert``, with the compiled statement cached."""
    return Insert(table)


_MERGES: dict = {}


def merge_row(session, table, key: dict, values: dict, merge, where=None) -> None:
    """INSERT ``key`` and ``values`` as a new row of ``table``, or, if a row has that key,
    SET ``merge(incoming)`` on it (only ``WHERE where(incoming)``, if given).

    ``merge`` and ``where`` build SQL from the table's columns and ``incoming`` (the row that
    was to be inserted) only, never from the values: those travel as parameters. So the
    statement depends on where it is called from and on which columns it carries, and is
    built once for each and kept: building it (the ``excluded`` alias, CASE expressions) cost
    an event handler more CPU than running it.
    """
    shape = (table, merge.__code__, where.__code__ if where is not None else None, tuple(key), tuple(values))
    statement = _MERGES.get(shape)
    if statement is None:
        statement = insert(table)
        incoming = statement.excluded
        statement = _MERGES[shape] = statement.on_conflict_do_update(
            index_elements=[table.c[name] for name in key],
            set_=merge(incoming),
            where=where(incoming) if where is not None else None,
        )
    session.execute(statement, {**key, **values})
