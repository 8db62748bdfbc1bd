"""OpenAI's error envelope for the sandbox's answers, and the errors every route shares."""

from aiohttp import web


class OpenAIError(Exception):
    """An answer in OpenAI's error envelope: {"error": {"message", "type", "param", "code"}}."""

    def __init__(self, status, message, code=None, *, param=None, error_type="invalid_request_error", headers=None):
        super().__init__(message)
        self.status, self.message, self.code, self.param = status, message, code, param
        self.error_type, self.headers = error_type, headers or {}

    def response(self):
        body = {"error": {"message": self.message, "type": self.error_type, "param": self.param, "code": self.code}}
        return web.json_response(body, status=self.status, headers=self.headers)


def injected_failure(status, what):
    """The error OpenAI answers with for `status`, for the fail_next_mints and reject_next_calls knobs."""
    if status == 401:
        return OpenAIError(401, "Incorrect API key provided: sk-sa…ndbox. You can find your API key at "
                                "https://platform.openai.com/account/api-keys.", "invalid_api_key")
    if status == 429:
        return OpenAIError(429, "Rate limit reached for requests per min (RPM): Limit 10, Used 10. "
                                "Please try again in 1s.", "rate_limit_exceeded", error_type="requests",
                           headers={"Retry-After": "1"})
    if status >= 500:
        return OpenAIError(status, "The server had an error while processing your request. Sorry about that!",
                           None, error_type="server_error")
    return OpenAIError(status, f"The sandbox was told to refuse this {what}.", "sandbox_injected_failure")


async def json_body(request):
    try:
        return await request.json()
    except (ValueError, UnicodeDecodeError):
        raise OpenAIError(400, "We could not parse the JSON body of your request. (HINT: This likely means you "
                               "aren't using your HTTP library correctly. The OpenAI API expects a JSON payload.)")


def raise_violation(violation, status=400):
    if violation:
        code, param, message = violation
        raise OpenAIError(status, message, code, param=param)
