"""Quorate's application shell: the ``quorate`` command, the client, the demo and the codec
server. It imports downwards only (README "Layout")."""
