"""The one public-host check shared by webhooks and the read policy of API runs (no DNS server needed)."""

from __future__ import annotations

import httpx
import pytest

from skit_pipelines.errors import SkitPipelinesError
from skit_pipelines.netaddr import PrivateTarget, UnresolvableHost, pinned_target, public_addresses
from skit_pipelines.readpolicy import ReadPolicy, ReadRefusedError


@pytest.mark.parametrize("host", ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111"])
def test_a_public_literal_is_its_own_one_address(host: str) -> None:
    assert public_addresses(host, 443) == [host]


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1", "localhost", "10.1.2.3", "192.168.0.1", "172.16.0.1", "169.254.169.254", "::1", "0.0.0.0"],
)
def test_loopback_private_and_link_local_hosts_are_refused(host: str) -> None:
    with pytest.raises(PrivateTarget, match=r"is a private or loopback address \(not allowed here\)"):
        public_addresses(host, 443)


def test_an_unresolvable_host_is_a_value_error_that_may_pass_later() -> None:
    host = "no-such-host.invalid"  # RFC 6761: never resolves
    with pytest.raises(UnresolvableHost, match="cannot resolve the host of 'no-such-host.invalid'"):
        public_addresses(host, 443)
    with pytest.raises(UnresolvableHost):  # not encodable: refused as unresolvable, no UnicodeError
        public_addresses("bad\udcffname", 443)


def test_both_refusals_are_product_errors_and_value_errors() -> None:
    for kind in (PrivateTarget, UnresolvableHost):
        assert issubclass(kind, SkitPipelinesError) and issubclass(kind, ValueError)
    assert not issubclass(PrivateTarget, UnresolvableHost)  # webhooks retry only the unresolvable one


def test_a_pinned_target_keeps_the_host_name_for_host_header_and_tls() -> None:
    target, headers, extensions = pinned_target(
        httpx.URL("https://raw.example.com:8443/a/b.yaml?x=1"), "8.8.8.8"
    )
    assert str(target) == "https://8.8.8.8:8443/a/b.yaml?x=1"
    assert headers == {"Host": "raw.example.com:8443"} and extensions == {"sni_hostname": "raw.example.com"}


def test_a_confined_policy_names_the_address_a_fetch_must_use() -> None:
    """The address is the one that was checked: the fetch connects there, no second DNS lookup."""
    confined = ReadPolicy.create(confined=True, allowed=["https://intranet.local/yamls/"], secrets=())
    assert confined.url_address("http://8.8.8.8/alias.yaml") == "8.8.8.8"
    assert confined.url_address("https://intranet.local/yamls/alias.yaml") is None  # the operator's prefix
    with pytest.raises(ReadRefusedError, match="loopback, private or unresolvable"):
        confined.url_address("http://127.0.0.1:9/alias.yaml")
    assert ReadPolicy.create(confined=False, allowed=[], secrets=()).url_address("http://127.0.0.1/") is None
