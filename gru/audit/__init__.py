"""Access journal (GDPR art. 5(2) accountability): hash-chained, sealed, verifiable."""
