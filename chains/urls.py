"""Node URLs as they may be shown: in errors, logs, histories.

The rule is :func:`common.urls.redact_url`, the one every store and node URL is shown
through: for a node URL (``http``, ``https``, ``ws``...) only scheme, host and port, since
providers put their credentials in the user name, the path and the query alike. This name
stays for existing imports; new code imports :func:`common.urls.redact_url`.
"""

from __future__ import annotations

from common.urls import redact_url as shown_url

__all__ = ["shown_url"]
