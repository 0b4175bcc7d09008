"""What every REST endpoint shares: problem+json errors, ETags, cursor pagination."""
