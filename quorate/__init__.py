"""Quorate's application shell: settings, topology and the ``quorate`` command."""
