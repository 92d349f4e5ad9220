"""The store's own exceptions: callers never see psycopg's."""

from __future__ import annotations


class StoreError(RuntimeError):
    """The database could not do what was asked (connection lost, server down, ...)."""


class NotFound(LookupError):
    """No row with that id."""


class Conflict(RuntimeError):
    """The row is not in a state that allows the change (someone else got there first)."""


class Invalid(ValueError):
    """The row breaks a rule of the schema (a reference to nothing, a value out of range)."""
