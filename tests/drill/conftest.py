"""The drill tests use the path tests' dnsmasq (a real DNS server serving the SRV records a test gives)."""

from tests.path.conftest import dnsmasq  # noqa: F401  (a fixture, used by name)
