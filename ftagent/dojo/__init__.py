"""ftagent.dojo."""
