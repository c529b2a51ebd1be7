"""ftagent.train."""
