"""The gRPC + HTTP/JSON API generated from proto/.

Empty until the API issue lands; see ARCHITECTURE.md.
"""
