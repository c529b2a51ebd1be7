"""ftagent.llm."""
