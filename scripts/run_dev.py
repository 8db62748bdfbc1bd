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


def start_sandbox():
    """Starts `python -m sandbox` on a free loopback port and returns (process, base URL)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "--host", "127.0.0.1", "--port", "0", "--loopback-ice"],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )
    for line in process.stdout:
        print(line, end="")
        if line.startswith("sandbox listening on "):
            # Keep forwarding its output, or a full pipe would stall the sandbox.
            threading.Thread(target=lambda: [print(rest, end="") for rest in process.stdout], daemon=True).start()
            return process, line.split("listening on ", 1)[1].strip()
    raise SystemExit("The Realtime sandbox did not start; see its output above.")


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
    sandbox = None
    if not env.get("OPENAI_API_KEY"):
        sandbox, base_url = start_sandbox()
        env.update(OPENAI_API_KEY="sk-sandbox", OPENAI_BASE_URL=base_url, OPENAI_SANDBOX="1")
        # No workflow: chat runs self-hosted, its agent answered by the sandbox's POST /v1/responses.
        print("OPENAI_API_KEY is not set: using the local Realtime sandbox instead of OpenAI.")
    admins_file = env.get("ADMIN_USERS_FILE") or str(INSTANCE / "admins.txt")
    ensure_dev_admin(admins_file)
    host, port = env.get("HOST", "127.0.0.1"), env.get("PORT", "5000")
    print(f"Open http://{'localhost' if host == '127.0.0.1' else host}:{port}/ (Ctrl-C stops)")
    try:
        return subprocess.call([sys.executable, "-m", "flask", "--app", "wsgi", "run", "--host", host, "--port", port], cwd=ROOT, env=env)
    except KeyboardInterrupt:
        return 0
    finally:
        if sandbox:
            sandbox.terminate()
            sandbox.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
