"""Test-only: make aioice offer 127.0.0.1, which it skips by default, for runners whose only network is loopback."""

import aioice.ice

_original_get_host_addresses = aioice.ice.get_host_addresses


def _with_loopback(use_ipv4, use_ipv6):
    addresses = _original_get_host_addresses(use_ipv4, use_ipv6)
    return addresses + ["127.0.0.1"] if use_ipv4 and "127.0.0.1" not in addresses else addresses


def offer_loopback_candidates():
    """Patches aioice for this whole process (the sandbox's peers, or a test's own aiortc client)."""
    aioice.ice.get_host_addresses = _with_loopback
