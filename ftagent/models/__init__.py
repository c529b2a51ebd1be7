"""ftagent.models."""
