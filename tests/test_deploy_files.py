"""The shipped coturn and systemd files keep their hardening: what a deployer copies is what was reviewed."""

import ipaddress
import subprocess
from pathlib import Path

import pytest

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
# Special-purpose ranges (IANA registries) a TURN relay must never reach.
SPECIAL_NETWORKS = [
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12", "192.0.0.0/24",
    "192.0.2.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4",
    "240.0.0.0/4", "::1/128", "::ffff:0:0/96", "64:ff9b::/96", "2001:db8::/32", "fc00::/7", "fe80::/10", "ff00::/8",
]
HARDENING = {
    "NoNewPrivileges": "true", "PrivateTmp": "true", "ProtectSystem": "strict", "ProtectHome": "true",
    "PrivateDevices": "yes", "ProtectKernelTunables": "true", "ProtectKernelModules": "yes",
    "ProtectKernelLogs": "yes", "ProtectControlGroups": "true", "RestrictSUIDSGID": "true",
    "RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6", "CapabilityBoundingSet": "",
    "SystemCallFilter": "@system-service", "UMask": "0077", "LockPersonality": "yes", "RestrictNamespaces": "yes",
}


def coturn_lines():
    return [line.strip() for line in (DEPLOY / "turnserver.conf").read_text().splitlines()]


def denied_ranges():
    ranges = []
    for line in coturn_lines():
        if line.startswith("denied-peer-ip="):
            first, _, last = line.split("=", 1)[1].partition("-")
            ranges.append((ipaddress.ip_address(first), ipaddress.ip_address(last or first)))
    return ranges


@pytest.mark.parametrize("network", SPECIAL_NETWORKS)
def test_coturn_never_relays_to_special_purpose_addresses(network):
    network = ipaddress.ip_network(network)
    assert any(first.version == network.version and first <= network[0] and network[-1] <= last
               for first, last in denied_ranges()), f"deploy/turnserver.conf does not deny {network}"


def test_coturn_relays_udp_only():
    assert "no-tcp-relay" in coturn_lines()


def service_directives():
    directives = {}
    for line in (DEPLOY / "voice-console.service").read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            name, value = line.split("=", 1)
            directives[name.strip()] = value.strip()
    return directives


@pytest.mark.parametrize("directive", HARDENING)
def test_the_systemd_unit_is_sandboxed(directive):
    assert service_directives().get(directive) == HARDENING[directive]


def test_systemd_accepts_the_unit():
    # verify also checks that User= and ExecStart= exist, which they do only on a real deployment.
    finished = subprocess.run(["systemd-analyze", "verify", str(DEPLOY / "voice-console.service")],
                              capture_output=True, text=True, timeout=30)
    unknown = [line for line in finished.stderr.splitlines() if "Unknown" in line or "Failed to parse" in line]
    assert not unknown, finished.stderr
