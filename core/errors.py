"""The one error type the app answers with, its JSON envelope, the errors every area raises, and who gets JSON."""

from flask import request


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


# Factories, not shared instances: an exception object carries its traceback, so each request raises its own.
def not_signed_in():
    return ApiError(401, "not_authenticated", "Sign in as an admin first: your session has ended or never began.")


def bad_request(message):
    return ApiError(400, "bad_request", message)


def not_configured(variable, why):
    return ApiError(503, "not_configured", f"{variable} is not set: {why}. Set it in the environment or .env.")


def wants_json():
    """True for the API: every /api/ route, and /chatkit, the ChatKit widget's endpoint (the path its api.url names).
    Those answer errors in the JSON envelope; pages answer HTML, redirects and text."""
    return request.path.startswith("/api/") or request.path == "/chatkit"
