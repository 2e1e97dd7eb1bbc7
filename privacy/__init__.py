"""Right to erasure: a suppression list of hashed customer ids and its application."""
