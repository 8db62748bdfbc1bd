"""The one error type the app answers with, and its JSON envelope."""


class ApiError(Exception):
    """A failure meant for the admin: an HTTP status, a stable code and a message in words they can act on."""

    def __init__(self, status, code, message, *, retry_after=None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.retry_after = retry_after

    def envelope(self):
        return {"status": "error", "code": self.code, "message": self.message}


NOT_SIGNED_IN = ApiError(401, "not_authenticated", "Sign in as an admin first: your session has ended or never began.")


def bad_request(message):
    return ApiError(400, "bad_request", message)


def not_configured(variable, why):
    return ApiError(503, "not_configured", f"{variable} is not set: {why}. Set it in the environment or .env.")
