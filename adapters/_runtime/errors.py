"""Errors of the adapters and what they mean for the saga.

Hierarchy::

    AdapterError                     base of everything an adapter raises on purpose
    ├── TransientError               connect error, timeout, 408, 429, 5xx: try again later
    │                                (`retry_after_s` when the department sent Retry-After)
    ├── PermanentError               a 4xx refusal of the data (other than 408/429);
    │                                `reason` is the department's own explanation
    ├── DepartmentProtocolError      an answer we cannot read (malformed JSON or XML, XML
    │                                with a DTD or entities, unexpected shape or status);
    │                                the saga treats it as transient
    └── UnsupportedCommandError      a command this adapter has no operation for (a bug
                                     upstream: the worker lets it dead-letter)

Only `TransientError` is retried within the call (`adapters._runtime.http.RetryPolicy`).
The worker turns `PermanentError` into a `rejected` reply and `TransientError` /
`DepartmentProtocolError` into a `transient` reply; anything else propagates to the
bus (redelivered, then dead-lettered).
"""


class AdapterError(Exception):
    """Base of the adapters' errors; `reason` is safe to show and store."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TransientError(AdapterError):
    """The department could not answer now; the same request may succeed later."""

    def __init__(
        self, reason: str, *, status: int | None = None, retry_after_s: float | None = None
    ) -> None:
        super().__init__(reason)
        self.status = status
        self.retry_after_s = retry_after_s


class PermanentError(AdapterError):
    """The department refused the data; only a correction helps.

    `code` is the department's error code when its error shape has one.
    """

    def __init__(self, reason: str, *, status: int, code: str | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.code = code


class DepartmentProtocolError(AdapterError):
    """The department answered something we cannot parse or did not expect."""

    def __init__(self, reason: str, *, status: int | None = None) -> None:
        super().__init__(reason)
        self.status = status


class UnsupportedCommandError(AdapterError):
    """This adapter has no such operation (for example polling a department that
    answers at once)."""
