"""Is a host public? One answer for every place that fetches or posts to a URL a remote caller gave us.

Why one function: the API's webhooks (``SKIT_WEBHOOK_ALLOW_PRIVATE=false``) and the read policy of API and
Slack runs (:mod:`skit_pipelines.readpolicy`, URL parameters such as the alias YAMLs) both refuse hosts that
resolve to loopback, private, link-local or otherwise non-global addresses, so a caller cannot make the
server reach its own network. Two copies of the check drift apart (one stripped IPv6 scope ids, the other
did not); this is the one.

Every address the host resolves to must be global: a name with one public and one private record is
refused. Callers that then connect pin the connection to a returned address, so a DNS answer that changes
between the check and the connection (DNS rebinding) cannot send it elsewhere.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

import httpx

from skit_pipelines.errors import SkitPipelinesError

__all__ = ["PrivateTarget", "UnresolvableHost", "pinned_target", "public_addresses"]


class PrivateTarget(SkitPipelinesError, ValueError):
    """The host resolves to a loopback, private or otherwise non-public address."""


class UnresolvableHost(SkitPipelinesError, ValueError):
    """The host does not resolve (now: DNS may answer on a later try)."""


def public_addresses(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (for ``port`` over TCP), in resolver order, all public.

    Raises :class:`PrivateTarget` when any address is not global, :class:`UnresolvableHost` when the name
    does not resolve or resolves to nothing. Both are ``ValueError``.
    """
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        raise UnresolvableHost(f"cannot resolve the host of {host!r}") from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    for address in addresses:
        if not ipaddress.ip_address(address.split("%")[0]).is_global:  # "%": an IPv6 scope id
            raise PrivateTarget(f"{host!r} is a private or loopback address (not allowed here)")
    if not addresses:
        raise UnresolvableHost(f"cannot resolve the host of {host!r}")
    return addresses


def pinned_target(url: httpx.URL, address: str) -> tuple[httpx.URL, dict[str, str], dict[str, Any]]:
    """Send a request for ``url`` to ``address`` (a checked IP): the target, the headers and the extensions.

    Why: resolving the name again at connect time would let a DNS answer that changed since the check
    (rebinding) send the request to a private address. The request goes to the IP; the original host name
    travels as the ``Host`` header and as the TLS server name (SNI), so virtual hosts and certificates work.
    Send it with ``trust_env=False``: a proxy would resolve the name itself.
    """
    headers = {"Host": url.netloc.decode("ascii")}
    extensions: dict[str, Any] = {"sni_hostname": url.host}
    return url.copy_with(host=address), headers, extensions
