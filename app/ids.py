"""Resource ids: a readable prefix and 128 random bits."""

import secrets
import uuid


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"


def new_token(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)
