"""Pseudonymous identifiers for the provider's abuse monitoring."""

import hashlib
import hmac


def safety_identifier(salt: bytes, user_id: int) -> str:
    """A stable per-user id for OpenAI's ``safety_identifier``: a keyed hash, so the raw Discord id never leaves."""
    return hmac.new(salt, str(user_id).encode(), hashlib.sha256).hexdigest()
