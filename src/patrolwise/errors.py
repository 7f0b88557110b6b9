"""Typed errors. Library code raises these; the CLI turns each into one clear line and a non-zero exit.

Messages name the file, row and field where they can, and say how to fix the problem, because the
person reading them is an analyst with a spreadsheet, not a developer with a debugger.
"""

from __future__ import annotations


class PatrolwiseError(Exception):
    """Base class for every error patrolwise raises on purpose."""


class ConfigError(PatrolwiseError):
    """A setting is missing or malformed."""


class InputError(PatrolwiseError):
    """Input data cannot be used as given (wrong shape, empty selection, bad parameter)."""


class FatalImportError(InputError):
    """A whole file cannot be imported: nothing from it is written.

    Raised for an unreadable file, an unknown format or a missing required column.
    """

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}")


class StoreError(PatrolwiseError):
    """The database cannot do what was asked (missing schema, unreachable server)."""


class AuthError(PatrolwiseError):
    """A caller is not allowed to do what it asked."""
