"""The exceptions churn_core raises.

Every error subclasses :class:`ChurnCoreError` and one built-in, so callers can
catch either. Each carries a stable ``code`` and the ``params`` that filled its
message, so a user interface can show the same message in another language.
Messages say what was wrong, what was received, and how to fix it.
"""

from __future__ import annotations

from typing import Any


class ChurnCoreError(Exception):
    """Base class of every error raised by churn_core."""

    def __init__(self, message: str, *, code: str = "error", **params: Any) -> None:
        super().__init__(message)
        self.code = code
        self.params = params


class ParameterError(ChurnCoreError, ValueError):
    """An option passed to a churn_core function is out of range or of the wrong kind."""


class DataFormatError(ChurnCoreError, ValueError):
    """A file cannot be read as a table: empty, binary, undecodable, too large."""


class SchemaError(ChurnCoreError, ValueError):
    """The table's columns cannot play the roles asked of them (no target, bad target...)."""


class ValidationError(ChurnCoreError, ValueError):
    """A dataset failed validation; ``report`` holds every blocking issue."""

    def __init__(self, message: str, *, report: Any, code: str = "validation_failed", **params: Any):
        super().__init__(message, code=code, **params)
        self.report = report


class StoreError(ChurnCoreError, RuntimeError):
    """The DuckDB store cannot be opened, migrated or written."""


class DatabaseDamagedError(StoreError):
    """The database file is damaged (cut short, or its blocks fail their checksums): code ``db_damaged``."""

    def __init__(self, message: str, *, code: str = "db_damaged", **params: Any) -> None:
        super().__init__(message, code=code, **params)


class DatabaseForeignError(StoreError):
    """The database file belongs to another program (it has tables but no Churn Radar schema): ``db_foreign``."""

    def __init__(self, message: str, *, code: str = "db_foreign", **params: Any) -> None:
        super().__init__(message, code=code, **params)


class DatabaseNewerError(StoreError):
    """The database was written by a newer Churn Radar (its schema version is above ours): ``db_newer``."""

    def __init__(self, message: str, *, code: str = "db_newer", **params: Any) -> None:
        super().__init__(message, code=code, **params)


class DiskFullError(StoreError):
    """Not enough free space for a write; nothing was written: code ``disk_full``."""

    def __init__(self, message: str, *, code: str = "disk_full", **params: Any) -> None:
        super().__init__(message, code=code, **params)


class NotFoundError(ChurnCoreError, LookupError):
    """A dataset version (or other stored object) does not exist."""


class LargeScoresError(ChurnCoreError, RuntimeError):
    """A large score set's Parquet cannot be paged server-side: none is registered (``large_scores_not_parquet``),
    it cannot be read (``large_scores_unreadable``) or lacks columns of the schema (``large_scores_columns``)."""
