"""gru: a GRU (gestion de la relation usager) data hub for local administrations."""

__version__ = "0.1.0"
