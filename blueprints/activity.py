"""The activity page: mints, voice sessions, tool calls and success rates, with filters and htmx partials."""

from flask import Blueprint, make_response, render_template, request

import activity
from blueprints.auth import login_required

bp = Blueprint("activity", __name__, url_prefix="/admin/activity")


def _filters():
    """The page's query: admin and outcome filters and one page number per table; nonsense falls back to defaults."""
    admin = request.args.get("admin", "").strip()[:100] or None
    outcome = request.args.get("outcome")
    return {
        "admin": admin,
        "outcome": outcome if outcome in activity.OUTCOMES else None,
        "mints_page": _page_number("mints_page"),
        "sessions_page": _page_number("sessions_page"),
        "tools_page": _page_number("tools_page"),
    }


MAX_PAGE_NUMBER = 10_000  # far past any real record; keeps the OFFSET a query computes small


def _page_number(name):
    value = request.args.get(name, "1")
    return min(int(value), MAX_PAGE_NUMBER) if value.isdigit() and int(value) > 0 else 1


def _tables(query):
    def link_args(**changes):
        """The page's query with some values changed, for links that keep the filters."""
        return {name: value for name, value in {**query, **changes}.items() if value is not None}

    return {
        "query": query,
        "link_args": link_args,
        "mints": activity.mint_page(query["admin"], query["outcome"], query["mints_page"]),
        "voice_sessions": activity.voice_session_page(query["admin"], query["outcome"], query["sessions_page"]),
        "tool_calls": activity.tool_call_page(query["admin"], query["outcome"], query["tools_page"]),
    }


# htmx names the element it will swap (HX-Target); the same route then answers with just that partial.
PARTIALS = {"records": "activity/_records.html", "mints": "activity/_mints.html", "sessions": "activity/_sessions.html",
            "tool-calls": "activity/_tool_calls.html"}


@bp.get("")
@login_required
def activity_page():
    query = _filters()
    partial = PARTIALS.get(request.headers.get("HX-Target", "")) if request.headers.get("HX-Request") else None
    if partial:
        response = make_response(render_template(partial, **_tables(query)))
    else:
        response = make_response(
            render_template(
                "activity/page.html",
                summary=activity.summary(),
                chart=activity.daily_chart(),
                admins=activity.known_admins(),
                **_tables(query),
            )
        )
    # Browsers and caches must not serve a partial where the page was asked for, or the reverse.
    response.headers["Vary"] = "HX-Request, HX-Target"
    return response
