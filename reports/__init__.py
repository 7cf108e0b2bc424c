"""Turning ccsim results into tables (and, later, plots and HTML)."""

from .table import format_comparison

__all__ = ["format_comparison"]
