"""The accountability core: a hash-chained audit log, its verification, retention, reports."""

from vigil.audit.log import GENESIS, AuditEntry, AuditLog, cli_actor, row_hash

__all__ = ["GENESIS", "AuditEntry", "AuditLog", "cli_actor", "row_hash"]
