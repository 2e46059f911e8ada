"""RFC 6455 conformance cases, table-driven and keyed by section."""
