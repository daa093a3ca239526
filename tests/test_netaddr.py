"""The one public-host check shared by webhooks and the read policy of API runs (no DNS server needed)."""

from __future__ import annotations

import pytest

from skit_pipelines.errors import SkitPipelinesError
from skit_pipelines.netaddr import PrivateTarget, UnresolvableHost, is_public_host, public_addresses


@pytest.mark.parametrize("host", ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111"])
def test_a_public_literal_is_its_own_one_address(host: str) -> None:
    assert public_addresses(host, 443) == [host]
    assert is_public_host(host, 80)


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1", "localhost", "10.1.2.3", "192.168.0.1", "172.16.0.1", "169.254.169.254", "::1", "0.0.0.0"],
)
def test_loopback_private_and_link_local_hosts_are_refused(host: str) -> None:
    with pytest.raises(PrivateTarget, match=r"is a private or loopback address \(not allowed here\)"):
        public_addresses(host, 443)
    assert not is_public_host(host, 443)


def test_an_unresolvable_host_is_a_value_error_that_may_pass_later() -> None:
    host = "no-such-host.invalid"  # RFC 6761: never resolves
    with pytest.raises(UnresolvableHost, match="cannot resolve the host of 'no-such-host.invalid'"):
        public_addresses(host, 443)
    assert not is_public_host(host, 443)
    assert not is_public_host("bad\udcffname", 443)  # not encodable: refused, never raised


def test_both_refusals_are_product_errors_and_value_errors() -> None:
    for kind in (PrivateTarget, UnresolvableHost):
        assert issubclass(kind, SkitPipelinesError) and issubclass(kind, ValueError)
    assert not issubclass(PrivateTarget, UnresolvableHost)  # webhooks retry only the unresolvable one
