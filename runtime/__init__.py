"""What every Quorate process shares: settings, topology, the payload codec, the Temporal
connection, the embedded dev server, provisioning, and the names Temporal sees.

It sits below the entry points (workers, the API, the command line) and imports only the
inner packages (mpc, chains, storage); see the README's "Layout".
"""
