"""Who is calling: applications and their tokens (agents and contracts come later)."""
