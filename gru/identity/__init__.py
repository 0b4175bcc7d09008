"""Identity: parties, the attribute catalogue, value validation and certification."""
