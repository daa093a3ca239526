"""Removing secrets from text before it reaches an exception, a log line or an output.

Why both a list of secrets and a URL rule: tokens we were given are replaced wherever they appear (also in
their base64 form, which is how an HTTP Basic header carries them), and a URL with a ``user:password@`` part
that came from elsewhere (a remote configured by hand) loses that part whatever it holds.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable

MASK = "***"
_URL_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<userinfo>[^/@\s]+)@")


def basic_auth_value(username: str, token: str) -> str:
    """The ``Basic`` credential for ``username:token`` (what git sends in an Authorization header)."""
    return base64.b64encode(f"{username}:{token}".encode()).decode()


class Redactor:
    """Replaces the given secrets (and their Basic-auth encodings) and URL credentials by ``***``."""

    def __init__(self, secrets: Iterable[str | None] = (), *, username: str | None = None) -> None:
        plain = [s for s in secrets if s]
        encoded = [basic_auth_value(username, s) for s in plain] if username else []
        # Longest first, so that a secret containing another one is masked as a whole.
        self._secrets = sorted({*plain, *encoded}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, MASK)
        return strip_url_credentials(text)


def strip_url_credentials(text: str) -> str:
    """``https://user:tok@host/x`` → ``https://***@host/x`` anywhere in ``text``."""
    return _URL_USERINFO.sub(lambda m: f"{m['scheme']}{MASK}@", text)
