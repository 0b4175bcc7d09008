"""Events: facts to tell applications, written in the same transaction as the change (outbox)."""
