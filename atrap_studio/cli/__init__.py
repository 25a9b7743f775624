"""ATRAP Studio."""
