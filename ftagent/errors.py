"""Errors the user can act on.

Every error raised for bad input derives from :class:`FtagentError`. The command line catches it and
prints its message as a single line (``error: <message>``) and exits with status 2, so a user sees
what was wrong, not a traceback. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class FtagentError(Exception):
    """Base class of user-facing errors; ``str(err)`` is a complete one-line message."""

    exit_code = 2

    def __str__(self) -> str:
        return " ".join(super().__str__().split())


class ConfigError(FtagentError):
    """A configuration file or value is invalid (names the file and the key)."""


class TaskError(FtagentError):
    """A task id is unknown, or a task YAML is malformed (names the file and the field)."""


class DataError(FtagentError):
    """A data directory or file is missing or unreadable (names the file and the task)."""


class AgentError(FtagentError):
    """An agent id is unknown or an agent cannot run in this setting."""


class BackboneError(FtagentError):
    """A planning backbone is unknown, unreachable or returned unusable output."""


class FetchError(DataError):
    """Data cannot be brought from the hub (offline, unknown repository, no matching file)."""
