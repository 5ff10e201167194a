"""The one rule for showing a URL: in errors, logs, histories, manifests and CLI output.

A URL can carry its credential in any part: ``user:password@`` (a database, bitcoind's
RPC), the query (``?password=``, ``?token=``, ``?api_key=``) or, at hosted node providers,
the path (``/v3/<key>``) and even the user name (``https://<key>@host``). So
:func:`redact_url` builds what it shows from an allow-list instead of cutting known
secrets out:

* always: the scheme, the host and the port (a port that does not parse is left out);
* never: the password, the fragment, and any query parameter not in
  :data:`SHOWN_QUERY_PARAMETERS`;
* for a store URL (a scheme in :data:`STORE_SCHEMES`) also the user name, the path and the
  allowed query parameters: there the user is a database role, the path a database name
  or a file, and they are what an operator needs to tell two stores apart;
* for any other scheme (``http``, ``https``, ``ws``... node URLs) nothing else, since
  providers put keys in the user name, the path and the query alike.

A URL whose authority cannot be told apart from its path (an ``@`` after the host: a
password with an unescaped ``/``, ``?`` or ``#`` in it) shows its scheme only. A string
without a scheme is not a URL, and shows as nothing.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit

STORE_SCHEMES = frozenset({"sqlite", "postgresql", "postgres", "chdb", "clickhouse", "clickhouses"})
"""Schemes whose user name and path name a database role and a database or file."""

SHOWN_QUERY_PARAMETERS = frozenset({"schema", "database", "driver", "timeout"})
"""Query parameters that say where or how, never who: the only ones ever shown."""


def redact_url(url: str) -> str:
    """``url`` as it may be shown; see the module docstring for what is kept."""
    parts = urlsplit(url)
    scheme = parts.scheme
    if not scheme:
        return ""
    rest = parts.path + parts.query + parts.fragment
    if "@" in rest and "@" not in parts.netloc:
        return f"{scheme}://?"
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = host if port is None else f"{host}:{port}"
    if scheme not in STORE_SCHEMES:
        return f"{scheme}://{netloc}"
    if parts.username:
        netloc = f"{parts.username}@{netloc}"
    query = urlencode(
        [(key, value) for key, value in parse_qsl(parts.query) if key in SHOWN_QUERY_PARAMETERS]
    )
    # Built by hand: urlunsplit drops the "//" of an empty host ("postgresql:///db").
    return f"{scheme}://{netloc}{parts.path}" + (f"?{query}" if query else "")
