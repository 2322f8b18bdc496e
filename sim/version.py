"""The version of Safehaven, in a module of its own so that anything can read it without importing
the public API (``sim/__init__.py`` re-exports it)."""

__version__ = "0.1.0"
