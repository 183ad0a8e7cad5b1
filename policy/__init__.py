"""The policy language: YAML with positions, the schema, the expression grammar, the raw model."""
