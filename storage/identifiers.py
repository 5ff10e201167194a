"""The one rule for SQL identifiers (schema and table names) in PostgreSQL and SQLite.

Identifiers cannot be bound as parameters, so a name reaches SQL only after it matched
``[a-z_][a-z0-9_]{0,62}`` and was found not to start with ``pg_`` (PostgreSQL's reserved
prefix); nothing is ever escaped. The event store and the projections each refuse a bad
name with their own :class:`~storage.errors.InvalidSqlIdentifier`.
"""

from __future__ import annotations

import re

_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def is_identifier(name: str) -> bool:
    """Whether ``name`` may be used, unquoted or double-quoted, as a schema or table name."""
    return _IDENTIFIER.fullmatch(name) is not None and not name.startswith("pg_")
