"""Errors of the sandbox.

    SandboxError
    ├── EarlyAnswerError          the department answers now (fault, refusal, replay, 404)
    ├── CitizenIdsExhaustedError  no sequence number left for a region and a birth date
    └── MalformedXmlError         an XML body that cannot be read safely (also a ValueError)
"""

from starlette.responses import Response


class SandboxError(Exception):
    """Base of the sandbox's errors."""


class EarlyAnswerError(SandboxError):
    """Ends a request early with a ready response in the department's own shape.

    Not a failure of the sandbox: raised by the shared request steps (faults,
    missing key, saved answer to replay, malformed body, refusal, unknown
    reference); the app's exception handler returns :attr:`response` as it is.
    """

    def __init__(self, response: Response) -> None:
        super().__init__(f"answered {response.status_code}")
        self.response = response


class CitizenIdsExhaustedError(SandboxError):
    """All sequence numbers of one parity are taken for a region and a date."""


class MalformedXmlError(SandboxError, ValueError):
    """An XML body that is not well formed, has a DTD or entities, or the wrong root."""
