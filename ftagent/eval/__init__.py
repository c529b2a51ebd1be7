"""ftagent.eval."""
