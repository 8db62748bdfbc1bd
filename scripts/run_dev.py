"""`make run`: runs the app locally, with the Realtime sandbox standing in for OpenAI when no API key is set."""

import os
import secrets
import subprocess
import sys
import threading
from pathlib import Path

from dotenv import load_dotenv

ROOT = Path(__file__).resolve().parent.parent

from core.admins import add_admin, admin_names

INSTANCE = ROOT / "instance"
DEV_ADMIN = "admin"


def start_process(arguments, ready, what, env=None):
    """Starts `python <arguments>` and returns (process, the address it prints after `ready`)."""
    process = subprocess.Popen([sys.executable, *arguments], cwd=ROOT, stdout=subprocess.PIPE, text=True, env=env)
    for line in process.stdout:
        print(line, end="")
        if line.startswith(ready):
            # Keep forwarding its output, or a full pipe would stall it.
            threading.Thread(target=lambda: [print(rest, end="") for rest in process.stdout], daemon=True).start()
            return process, line.split("listening on ", 1)[1].strip()
    raise SystemExit(f"{what} did not start; see its output above.")


def start_sandbox():
    """Starts `python -m sandbox` on a free loopback port and returns (process, base URL)."""
    return start_process(["-m", "sandbox", "--host", "127.0.0.1", "--port", "0", "--loopback-ice"],
                         "sandbox listening on ", "The Realtime sandbox")


def start_examples(env):
    """Starts the example platform API and MCP server (examples/) for the example agent file; returns the processes
    and sets AGENT_FILE and the variables examples/agent.toml reads in `env`."""
    tokens = {"PLATFORM_TOKEN": secrets.token_urlsafe(16), "WAREHOUSE_MCP_TOKEN": secrets.token_urlsafe(16)}
    child_env = {**env, **tokens}
    platform, platform_url = start_process(["-m", "examples.platform_api", "--port", "0"], "platform listening on ",
                                           "The example platform API", child_env)
    warehouse, warehouse_url = start_process(["-m", "examples.warehouse_mcp", "--port", "0"],
                                             "warehouse MCP listening on ", "The example MCP server", child_env)
    env.update(tokens, PLATFORM_URL=platform_url, WAREHOUSE_MCP_URL=warehouse_url,
               AGENT_FILE=str(ROOT / "examples" / "agent.toml"))
    print("AGENT_FILE is not set: using examples/agent.toml with the example platform API and MCP server.")
    return [platform, warehouse]


def persistent_dev_secret_key():
    # Kept on disk so the debug reloader's restarts don't sign the admin out.
    path = INSTANCE / "dev-secret-key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def ensure_dev_admin(admins_file):
    login_note = INSTANCE / "dev-login.txt"
    if not admin_names(admins_file):
        password = secrets.token_urlsafe(12)
        add_admin(admins_file, DEV_ADMIN, password)
        login_note.write_text(f"username: {DEV_ADMIN}\npassword: {password}\n")
        login_note.chmod(0o600)
    if login_note.exists() and DEV_ADMIN in admin_names(admins_file):
        print(f"Development admin login ({login_note.relative_to(ROOT)}):\n  " + login_note.read_text().replace("\n", "\n  "))
    else:
        print(f"Sign in with an admin from {admins_file} (add one with: flask admin add NAME)")


def main():
    load_dotenv(ROOT / ".env")
    INSTANCE.mkdir(exist_ok=True)
    env = dict(os.environ)
    env.setdefault("FLASK_DEBUG", "1")
    env.setdefault("SECRET_KEY", persistent_dev_secret_key())
    helpers = []  # the subprocesses to stop when flask run ends
    if not env.get("OPENAI_API_KEY"):
        sandbox, base_url = start_sandbox()
        helpers.append(sandbox)
        env.update(OPENAI_API_KEY="sk-sandbox", OPENAI_BASE_URL=base_url, OPENAI_SANDBOX="1")
        # No workflow: chat runs self-hosted, its agent answered by the sandbox's POST /v1/responses.
        print("OPENAI_API_KEY is not set: using the local Realtime sandbox instead of OpenAI.")
        if not env.get("AGENT_FILE"):
            helpers += start_examples(env)
    admins_file = env.get("ADMIN_USERS_FILE") or str(INSTANCE / "admins.txt")
    ensure_dev_admin(admins_file)
    host, port = env.get("HOST", "127.0.0.1"), env.get("PORT", "5000")
    print(f"Open http://{'localhost' if host == '127.0.0.1' else host}:{port}/ (Ctrl-C stops)")
    try:
        return subprocess.call([sys.executable, "-m", "flask", "--app", "wsgi", "run", "--host", host, "--port", port], cwd=ROOT, env=env)
    except KeyboardInterrupt:
        return 0
    finally:
        for process in helpers:
            process.terminate()
        for process in helpers:
            process.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
