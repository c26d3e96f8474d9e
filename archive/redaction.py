"""Credentials kept out of what archive prints and logs."""

from __future__ import annotations

import re

_CRED = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<cred>[^@/\s]*@)", re.I)


# URI options that carry secrets (TLS key passwords, AWS session tokens in auth properties).
_SECRET_OPTIONS = re.compile(r"(?P<key>(?:tlsCertificateKeyFilePassword|sslPEMKeyPassword|authMechanismProperties|"
                             r"password|secret|token)=)(?P<value>[^&\s]*)", re.I)


def redact(text: str) -> str:
    """Remove credentials from any URI inside ``text``: user and password, and options that hold secrets."""
    text = _CRED.sub(lambda m: m.group("scheme") + "***@", text)
    return _SECRET_OPTIONS.sub(lambda m: m.group("key") + "***", text)
