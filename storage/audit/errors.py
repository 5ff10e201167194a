"""Typed errors of the audit tooling (ARCHITECTURE.md invariant 8).

A verification that finds tampering is not an error: it returns a report with a
:class:`~storage.audit.verify.Finding`. :class:`AuditError` is for a verification, export or
query that could not run at all.
"""

from __future__ import annotations


class AuditError(Exception):
    """The verification (or export) could not run at all: a missing file, a bad manifest.

    Distinct from a :class:`~storage.audit.verify.Finding`, which is a successful
    verification that found tampering; the CLI gives the two different exit statuses.
    """
