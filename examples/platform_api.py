"""`python -m examples.platform_api --port 0`: an example data-platform API for the example agent file's HTTP tools.

Every request needs `Authorization: Bearer <token>` (--token, default $PLATFORM_TOKEN). Endpoints (JSON):

    GET  /pipelines[?status=failed|succeeded][&since=ISO 8601]   pipelines and their last run
    GET  /datasets                                               datasets, their rows and freshness
    GET  /runs/{id}                                              one run, with its error if it failed
    POST /pipelines/{name}/rerun  {"reason": "..."}              starts a new run: 202 and the run

The data is made up relative to the time it starts: two pipelines failed last night (8 to 9 hours ago). Prints
"platform listening on http://127.0.0.1:N" once it accepts connections. In a test: `with running(token) as url:`.
"""

import argparse
import asyncio
import contextlib
import json
import os
from datetime import datetime, timedelta, timezone

from aiohttp import web

from core.background_loop import BackgroundLoop


def sample_data(now):
    """Pipelines, datasets and runs, with times relative to `now`: two pipelines failed 8 to 9 hours ago."""
    night = now - timedelta(hours=12)
    runs = {
        "r-1001": {"id": "r-1001", "pipeline": "orders_daily", "status": "failed", "started": night + timedelta(hours=3),
                   "error": "upstream table sales.orders missing partition for yesterday"},
        "r-1002": {"id": "r-1002", "pipeline": "customers_sync", "status": "succeeded", "started": night + timedelta(hours=2)},
        "r-1003": {"id": "r-1003", "pipeline": "events_rollup", "status": "failed", "started": night + timedelta(hours=4),
                   "error": "out of memory in stage aggregate_hourly"},
        "r-0990": {"id": "r-0990", "pipeline": "billing_export", "status": "failed", "started": now - timedelta(days=3),
                   "error": "credentials for the billing bucket expired"},
        "r-1004": {"id": "r-1004", "pipeline": "billing_export", "status": "succeeded", "started": now - timedelta(days=2)},
    }
    pipelines = {}
    for run in sorted(runs.values(), key=lambda run: run["started"]):
        pipelines[run["pipeline"]] = {"name": run["pipeline"], "last_run": run["id"], "status": run["status"],
                                      "finished": run["started"] + timedelta(minutes=17)}
    datasets = [
        {"name": "sales.orders", "rows": 1_204_332, "updated": now - timedelta(hours=30)},
        {"name": "crm.customers", "rows": 5_310, "updated": night + timedelta(hours=2, minutes=20)},
        {"name": "analytics.events_hourly", "rows": 88_120, "updated": now - timedelta(hours=29)},
    ]
    return {"pipelines": pipelines, "runs": runs, "datasets": datasets, "next_run": 1005}


def _json(value, status=200):
    return web.json_response(value, status=status, dumps=lambda data: json.dumps(data, default=_iso))


def _iso(value):
    return value.isoformat(timespec="seconds")


def create_platform_app(token, now=None):
    data = sample_data(now or datetime.now(timezone.utc))
    expected = f"Bearer {token}"

    @web.middleware
    async def bearer(request, handler):
        if request.headers.get("Authorization") != expected:
            return web.json_response({"error": "a valid bearer token is required"}, status=401)
        return await handler(request)

    async def pipelines(request):
        status = request.query.get("status")
        if status not in (None, "failed", "succeeded"):
            return web.json_response({"error": "status must be failed or succeeded"}, status=400)
        since = None
        if request.query.get("since"):
            try:
                since = datetime.fromisoformat(request.query["since"].replace("Z", "+00:00"))
            except ValueError:
                return web.json_response({"error": "since must be an ISO 8601 time"}, status=400)
            if since.tzinfo is None:
                since = since.replace(tzinfo=timezone.utc)
        found = [p for p in data["pipelines"].values()
                 if (status is None or p["status"] == status) and (since is None or p["finished"] >= since)]
        return _json(found)

    async def datasets(request):
        return _json(data["datasets"])

    async def run(request):
        found = data["runs"].get(request.match_info["id"])
        if found is None:
            return web.json_response({"error": f"no run {request.match_info['id']}"}, status=404)
        return _json(found)

    async def rerun(request):
        name = request.match_info["name"]
        if name not in data["pipelines"]:
            return web.json_response({"error": f"no pipeline {name}"}, status=404)
        body = await request.json() if request.can_read_body else {}
        run_id = f"r-{data['next_run']}"
        data["next_run"] += 1
        new = {"id": run_id, "pipeline": name, "status": "running", "started": datetime.now(timezone.utc),
               "reason": (body or {}).get("reason")}
        data["runs"][run_id] = new
        data["pipelines"][name].update(last_run=run_id, status="running")
        return _json(new, status=202)

    app = web.Application(middlewares=[bearer])
    app.router.add_get("/pipelines", pipelines)
    app.router.add_get("/datasets", datasets)
    app.router.add_get("/runs/{id}", run)
    app.router.add_post("/pipelines/{name}/rerun", rerun)
    return app


async def start(token, host="127.0.0.1", port=0):
    """Starts the API on the running loop; returns (runner, base URL)."""
    runner = web.AppRunner(create_platform_app(token), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound_host, bound_port = runner.addresses[0][:2]
    return runner, f"http://{bound_host}:{bound_port}"


@contextlib.contextmanager
def running(token):
    """Serves the API from a thread on a free loopback port; yields its base URL and stops it on exit."""
    with BackgroundLoop(name="platform-api") as loop:
        runner, url = loop.run(start(token), timeout=10)
        try:
            yield url
        finally:
            loop.run(runner.cleanup(), timeout=10)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m examples.platform_api", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port to bind; 0 picks a free one (default)")
    parser.add_argument("--token", default=os.environ.get("PLATFORM_TOKEN"), help="bearer token (default $PLATFORM_TOKEN)")
    arguments = parser.parse_args(argv)
    if not arguments.token:
        parser.error("set --token or PLATFORM_TOKEN")

    async def serve():
        runner, url = await start(arguments.token, arguments.host, arguments.port)
        print(f"platform listening on {url}", flush=True)
        try:
            await asyncio.Event().wait()  # until SIGINT/SIGTERM ends the process
        finally:
            await runner.cleanup()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())


if __name__ == "__main__":
    main()
