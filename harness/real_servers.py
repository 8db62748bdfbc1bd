"""Real servers from Debian's packages for the deployment tests: nginx rendered from deploy/nginx.conf, Redis,
PostgreSQL and coturn, each started on 127.0.0.1 with ports the test picks and stopped by it (no systemd)."""

import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NGINX_SITE = ROOT / "deploy" / "nginx.conf"
POSTGRES_BIN = Path("/usr/lib/postgresql")


def free_port(kind=socket.SOCK_STREAM):
    with socket.socket(socket.AF_INET, kind) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port, process, timeout=30.0, log=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[0]} exited with {process.returncode}: {log() if log else ''}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(f"{process.args[0]} did not listen on {port} within {timeout} s")


def stop(process, sig=signal.SIGTERM):
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def self_signed_certificate(folder, host="127.0.0.1"):
    """(certificate path, key path) for `host`, made with the openssl command-line tool."""
    cert, key = Path(folder) / "cert.pem", Path(folder) / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", f"/CN={host}",
         "-addext", f"subjectAltName=IP:{host}"],
        check=True, capture_output=True,
    )
    return str(cert), str(key)


# --- nginx -------------------------------------------------------------------------------------------------


def render_nginx_site(*, http_port, https_port, app_ports, cert, key, logs):
    """deploy/nginx.conf with every "# EDIT" line replaced for this machine; fails on an EDIT line it does
    not know, so the test keeps up with the file."""
    lines = []
    upstreams_written = False
    for line in NGINX_SITE.read_text().splitlines():
        if "# EDIT" not in line or not line.split("#", 1)[0].strip():
            lines.append(line)
            continue
        code = line.split("#", 1)[0].rstrip()
        indent = code[: len(code) - len(code.lstrip())]
        directive = code.strip()
        if directive.startswith("listen [::]"):
            continue  # the test binds 127.0.0.1 only
        if directive == "listen 80;":
            lines.append(f"{indent}listen 127.0.0.1:{http_port};")
        elif directive.startswith("listen 443 "):
            lines.append(f"{indent}listen 127.0.0.1:{https_port} {directive[len('listen 443 '):]}")
        elif directive.startswith("server_name "):
            lines.append(f"{indent}server_name 127.0.0.1 localhost;")
        elif directive.startswith("return 301 https://$host"):
            lines.append(f"{indent}return 301 https://$host:{https_port}$request_uri;")
        elif directive.startswith("ssl_certificate_key "):
            lines.append(f"{indent}ssl_certificate_key {key};")
        elif directive.startswith("ssl_certificate "):
            lines.append(f"{indent}ssl_certificate {cert};")
        elif directive.startswith("server 127.0.0.1:"):
            if not upstreams_written:
                options = directive.split(None, 2)[2] if len(directive.split(None, 2)) > 2 else ";"
                lines += [f"{indent}server 127.0.0.1:{port} {options}" for port in app_ports]
                upstreams_written = True
        elif directive.startswith("alias /srv/voice-console/static/"):
            lines.append(f"{indent}alias {ROOT / 'static'}/{directive.split('/static/', 1)[1]}")
        elif directive.startswith("access_log "):
            lines.append(f"{indent}access_log {logs}/access.log {directive.split()[2]}")
        elif directive.startswith("error_log "):
            lines.append(f"{indent}error_log {logs}/error.log;")
        else:
            raise AssertionError(f"deploy/nginx.conf has an EDIT line the test does not know: {line.strip()}")
    return "\n".join(lines) + "\n"


class Nginx:
    """nginx -p <tmp> -c <tmp>/nginx.conf -g 'daemon off;' with the rendered site inside a minimal main file."""

    def __init__(self, *, app_ports, folder=None):
        self.folder = Path(folder or tempfile.mkdtemp(prefix="nginx-test-"))
        self.folder.mkdir(parents=True, exist_ok=True)
        self.http_port, self.https_port = free_port(), free_port()
        self.cert, self.key = self_signed_certificate(self.folder)
        site = render_nginx_site(http_port=self.http_port, https_port=self.https_port, app_ports=app_ports,
                                 cert=self.cert, key=self.key, logs=self.folder)
        (self.folder / "site.conf").write_text(site)
        # Workers run as root only in the test, so they can read pytest's private temporary folders.
        user = "user root root;" if os.geteuid() == 0 else ""
        (self.folder / "nginx.conf").write_text(
            f"{user}\npid {self.folder}/nginx.pid;\nerror_log {self.folder}/main-error.log;\nworker_processes 1;\n"
            "events { worker_connections 256; }\n"
            "http {\n  include /etc/nginx/mime.types;\n"
            + "".join(f"  {kind}_temp_path {self.folder}/{kind}_temp;\n"
                      for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
            + f"  include {self.folder}/site.conf;\n}}\n"
        )
        self.process = subprocess.Popen(
            ["nginx", "-p", str(self.folder), "-c", str(self.folder / "nginx.conf"), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL, stderr=open(self.folder / "stderr.log", "wb"),
        )
        wait_for_port(self.https_port, self.process, log=self.log)
        wait_for_port(self.http_port, self.process, log=self.log)

    @property
    def https_url(self):
        return f"https://127.0.0.1:{self.https_port}"

    @property
    def http_url(self):
        return f"http://127.0.0.1:{self.http_port}"

    def log(self, name="stderr.log"):
        path = self.folder / name
        return path.read_text(errors="replace") if path.exists() else ""

    def close(self):
        stop(self.process, signal.SIGQUIT)  # graceful: finishes open requests
        shutil.rmtree(self.folder, ignore_errors=True)


# --- Redis -------------------------------------------------------------------------------------------------


class Redis:
    def __init__(self):
        self.folder = Path(tempfile.mkdtemp(prefix="redis-test-"))
        self.port = free_port()
        self.process = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no",
             "--dir", str(self.folder), "--daemonize", "no"],
            stdout=open(self.folder / "redis.log", "wb"), stderr=subprocess.STDOUT,
        )
        wait_for_port(self.port, self.process)

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"

    def close(self):
        stop(self.process)
        shutil.rmtree(self.folder, ignore_errors=True)


# --- PostgreSQL --------------------------------------------------------------------------------------------


def _postgres_bin(name):
    versions = sorted(POSTGRES_BIN.glob("*/bin/" + name), key=lambda p: int(p.parent.parent.name))
    if not versions:
        raise RuntimeError(f"PostgreSQL's {name} is missing: run scripts/install-system-packages.sh")
    return str(versions[-1])


class Postgres:
    """A throwaway cluster: initdb into a temporary folder and `postgres` on a port of ours. PostgreSQL refuses
    to run as root, so as root it runs as `nobody` (the folder is handed to that user)."""

    def __init__(self):
        self.folder = Path(tempfile.mkdtemp(prefix="postgres-test-"))
        self.port = free_port()
        data = self.folder / "data"
        as_user = {}
        if os.geteuid() == 0:
            nobody = pwd.getpwnam("nobody")
            os.chown(self.folder, nobody.pw_uid, nobody.pw_gid)
            # Popen switches user itself (no runuser in between), so our signals reach postgres directly.
            as_user = {"user": nobody.pw_uid, "group": nobody.pw_gid, "extra_groups": []}
        subprocess.run([_postgres_bin("initdb"), "-D", str(data), "-U", "console", "--auth=trust", "--no-sync",
                        "-E", "UTF8"], check=True, capture_output=True, cwd=self.folder, **as_user)
        self.process = subprocess.Popen(
            [_postgres_bin("postgres"), "-D", str(data), "-h", "127.0.0.1", "-p", str(self.port),
             "-k", str(self.folder), "-c", "fsync=off", "-c", "synchronous_commit=off"],
            stdout=subprocess.DEVNULL, stderr=open(self.folder / "postgres.log", "wb"), cwd=self.folder, **as_user,
        )
        wait_for_port(self.port, self.process)
        self._wait_until_accepting()

    def _wait_until_accepting(self, timeout=30.0):
        import psycopg

        deadline = time.monotonic() + timeout
        while True:
            try:
                psycopg.connect(f"host=127.0.0.1 port={self.port} user=console dbname=postgres").close()
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    @property
    def url(self):
        return f"postgresql+psycopg://console@127.0.0.1:{self.port}/postgres"

    def close(self):
        stop(self.process, signal.SIGQUIT)  # "immediate" shutdown: the cluster is thrown away anyway
        shutil.rmtree(self.folder, ignore_errors=True)


# --- coturn ------------------------------------------------------------------------------------------------


COTURN_CONF = ROOT / "deploy" / "turnserver.conf"


def render_turnserver_conf(*, secret, port, logs):
    """deploy/turnserver.conf for 127.0.0.1: the EDIT values replaced, no TLS (no certificate here), and
    loopback peers allowed, since the sandbox the browser reaches through coturn is on 127.0.0.1."""
    lines, edit_next = [], False
    for line in COTURN_CONF.read_text().splitlines():
        if line.startswith("# EDIT"):
            edit_next = True
            continue
        key = line.split("=", 1)[0].strip()
        if edit_next:
            edit_next = False
            replaced = {"static-auth-secret": f"static-auth-secret={secret}", "realm": "realm=voice-console.test"}
            if key in replaced:
                lines.append(replaced[key])
            elif key not in ("external-ip", "cert", "pkey"):
                raise AssertionError(f"deploy/turnserver.conf has an EDIT line the test does not know: {line}")
            continue
        if key == "listening-port":
            lines.append(f"listening-port={port}")
        elif key in ("tls-listening-port", "log-file") or line == "denied-peer-ip=127.0.0.0-127.255.255.255":
            continue
        else:
            lines.append(line)
    # verbose: coturn logs each allocation with its user name, which the test reads.
    lines += ["listening-ip=127.0.0.1", "relay-ip=127.0.0.1", "allow-loopback-peers", "no-tls", "no-dtls", "verbose",
              f"log-file={logs}/turn.log", f"pidfile={logs}/turnserver.pid"]
    return "\n".join(lines) + "\n"


class Coturn:
    """turnserver with deploy/turnserver.conf (use-auth-secret: TURN REST credentials), on 127.0.0.1."""

    def __init__(self, secret):
        self.folder = Path(tempfile.mkdtemp(prefix="coturn-test-"))
        # Browsers reach TURN over UDP here, and a port free for TCP may be taken for UDP (the sandbox's and
        # Chromium's ICE sockets live in the same range): coturn then runs without its UDP listener, and
        # relayed calls fail. So the port must be free for both, and the server counts as up only once it
        # answers a STUN request over UDP.
        for attempt in range(3):  # the port may still be taken between choosing it and coturn binding it
            self.port = free_port_for_tcp_and_udp()
            config = self.folder / "turnserver.conf"
            config.write_text(render_turnserver_conf(secret=secret, port=self.port, logs=self.folder))
            self.process = subprocess.Popen(["turnserver", "-c", str(config)], stdout=subprocess.DEVNULL,
                                            stderr=subprocess.DEVNULL)
            try:
                wait_for_port(self.port, self.process, log=self.log)
                wait_for_stun_answer(self.port, self.process, log=self.log)
                return
            except RuntimeError:
                stop(self.process)
                if attempt == 2:
                    shutil.rmtree(self.folder, ignore_errors=True)
                    raise
            except BaseException:
                self.close()
                raise

    @property
    def url(self):
        return f"turn:127.0.0.1:{self.port}?transport=udp"

    def log(self):
        return "".join(path.read_text(errors="replace") for path in sorted(self.folder.glob("turn*.log")))

    def close(self):
        stop(self.process)
        shutil.rmtree(self.folder, ignore_errors=True)


def free_port_for_tcp_and_udp():
    for _ in range(50):
        port = free_port()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise RuntimeError("no port free for both TCP and UDP on 127.0.0.1")


def wait_for_stun_answer(port, process, timeout=10.0, log=None):
    """Sends STUN Binding requests (RFC 8489) over UDP until the server answers one."""
    transaction = os.urandom(12)
    request = b"\x00\x01\x00\x00\x21\x12\xa4\x42" + transaction
    deadline = time.monotonic() + timeout
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
        client.settimeout(0.2)
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"{process.args[0]} exited with {process.returncode}: {log() if log else ''}")
            try:
                client.sendto(request, ("127.0.0.1", port))
                answer = client.recv(2048)
            except OSError:  # no answer yet (timeout)
                time.sleep(0.05)
                continue
            if answer[:2] == b"\x01\x01" and answer[8:20] == transaction:
                return
    raise RuntimeError(f"{process.args[0]} did not answer STUN on UDP {port} within {timeout} s: "
                       f"{log()[-2000:] if log else ''}")


def signed_in_https_session(base_url, cert, username, password):
    """A requests session that trusts `cert` and is signed in through the real login form, sending the
    Referer and X-CSRFToken as the admin pages do."""
    import requests

    http = requests.Session()
    http.trust_env = False  # else REQUESTS_CA_BUNDLE from the environment would replace `verify`
    http.verify = cert
    page = http.get(f"{base_url}/login", timeout=10)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    # Browsers send the Referer; Flask-WTF insists on a same-origin one over HTTPS.
    http.headers["Referer"] = f"{base_url}/login"
    signed_in = http.post(f"{base_url}/login", data={"username": username, "password": password, "csrf_token": token},
                          timeout=10)
    assert signed_in.url.startswith(base_url) and "/login" not in signed_in.url, signed_in.text[:500]
    voice_page = http.get(f"{base_url}/admin/voice", timeout=10).text
    http.headers["X-CSRFToken"] = re.search(r'name="csrf-token" content="([^"]+)"', voice_page).group(1)
    return http


def wait_until(condition, timeout=10.0):
    """Waits for something another process does after answering (a log line), failing after `timeout`."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)
