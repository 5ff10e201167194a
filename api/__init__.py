"""The network API: gRPC and HTTP/JSON from one .proto (not built yet; the CLI and the
Temporal client in ``quorate.client`` are the way in today)."""
