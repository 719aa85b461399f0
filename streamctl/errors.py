"""One readable line per failure, and an exit code a script can branch on."""

from __future__ import annotations

# Exit codes (docs/CLI.md): what went wrong, not only that something did.
OK, FAILED, USAGE, AUTH, NOT_FOUND, CONFLICT, UNAVAILABLE = 0, 1, 2, 3, 4, 5, 6

_BY_STATUS = {400: USAGE, 401: AUTH, 403: AUTH, 404: NOT_FOUND, 409: CONFLICT, 422: USAGE,
              429: UNAVAILABLE, 503: UNAVAILABLE}


class CliError(Exception):
    def __init__(self, message: str, code: int = FAILED) -> None:
        super().__init__(message)
        self.message = message
        self.code = code

    @classmethod
    def from_status(cls, status: int, message: str) -> CliError:
        return cls(message, _BY_STATUS.get(status, FAILED))
