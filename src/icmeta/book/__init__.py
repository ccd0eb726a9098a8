"""What the book's pages need beyond the analysis: the page helpers (`page`: parameters, glued
figures, tables), the status table (`status`), and the widgets (`sampler`, `probe`, `explorer`
with its pre-rendered `frames`).

A chapter begins with ``from icmeta.book import setup, show, table``.
"""

from .page import setup, show, table

__all__ = ["setup", "show", "table"]
