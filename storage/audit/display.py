"""Text that reaches an auditor's terminal, with every control character made visible.

What the audit tools print comes in part from their arguments and from events, which
anyone who could append (or edit a file) chose: an ESC there would otherwise drive the
terminal (move the cursor, rewrite an earlier ``OK`` line, set the window title), a
carriage return or a bidirectional override would hide what follows. :func:`printable`
spells each such character as a Python escape (``\\x1b``, ``\\u202e``), so an auditor sees
exactly which code points are there.
"""

from __future__ import annotations

import unicodedata

_ESCAPED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Zl", "Zp"})
"""Control (C0, DEL, C1), format (bidirectional overrides, zero-width characters),
surrogate and private-use characters, and the Unicode line and paragraph separators."""


def _escape(char: str) -> str:
    code = ord(char)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def printable(text: str) -> str:
    """``text`` with every control, format and separator character escaped; one line."""
    if text.isprintable():
        return text  # The common case, without a per-character walk.
    return "".join(
        _escape(char) if unicodedata.category(char) in _ESCAPED_CATEGORIES else char
        for char in text
    )


def printable_lines(text: str) -> str:
    """Each ``\\n``-separated line of ``text`` made :func:`printable`; the line breaks stay.

    For multi-line reports our own code puts together: their line structure is ours, what
    is inside each line may come from input.
    """
    return "\n".join(printable(line) for line in text.split("\n"))
