"""AWS prices kept in the repository, so a cost is computed from figures with a source and a date."""
