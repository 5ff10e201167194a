"""``python -m quorate``: the same as the ``quorate`` command."""

from quorate.cli import app

app()
