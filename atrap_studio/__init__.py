"""ATRAP Studio: compose AI behaviours visually as node graphs."""

__version__ = "0.1.0"
