"""Connection secrets at rest (SPEC §1, §5): Fernet, keyed from `RELAY_SECRET_KEY`.

The Fernet key is the urlsafe-base64 SHA-256 of the setting, so any string works as
`RELAY_SECRET_KEY`. Without one: `RELAY_ENV=test` uses a fixed key (tests only),
`relay dev` generates one and keeps it in `<data-dir>/secret-key`, production refuses to
start (Settings), and anything else refuses to encrypt or decrypt.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

from app.config import Settings
from relay_common.approvals import approval_key as links_key

_TEST_KEY_MATERIAL = "relay test secret key: RELAY_ENV=test only, never for real secrets"
DEV_KEY_FILE = "secret-key"


class SecretKeyMissing(RuntimeError):
    """No `RELAY_SECRET_KEY` where one is needed."""


class SecretsUnreadable(RuntimeError):
    """A token that this key cannot decrypt (the key changed, or the data was altered)."""


def fernet_key(material: str) -> bytes:
    return base64.urlsafe_b64encode(hashlib.sha256(material.encode()).digest())


@lru_cache(maxsize=8)
def _fernet(material: str) -> Fernet:
    return Fernet(fernet_key(material))


def cipher(settings: Settings) -> Fernet:
    if settings.secret_key:
        return _fernet(settings.secret_key)
    if settings.env == "test":
        return _fernet(_TEST_KEY_MATERIAL)
    raise SecretKeyMissing("RELAY_SECRET_KEY is not set, so connection secrets cannot be encrypted "
                           "(`relay dev` sets one; set it for `relay api` and `relay worker`)")


def encrypt_json(settings: Settings, value: dict[str, Any]) -> str:
    return cipher(settings).encrypt(json.dumps(value, separators=(",", ":")).encode()).decode()


def decrypt_json(settings: Settings, token: str) -> dict[str, Any]:
    if not token:
        return {}
    try:
        return json.loads(cipher(settings).decrypt(token.encode()))
    except InvalidToken:
        raise SecretsUnreadable("connection secrets cannot be decrypted with this RELAY_SECRET_KEY") from None


def load_or_create_dev_key(data_dir: Path) -> str:
    """`relay dev`'s secret key: generated once, kept in `<data-dir>/secret-key` (mode 0600)."""
    path = data_dir / DEV_KEY_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    key = secrets.token_urlsafe(32)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return key


def approval_key(settings: Settings) -> bytes:
    """The key approval links are signed with (relay_common/approvals.py), derived from
    `RELAY_SECRET_KEY` (the test key under RELAY_ENV=test); empty without one: no links then."""
    material = settings.secret_key or (_TEST_KEY_MATERIAL if settings.env == "test" else None)
    return links_key(material) if material else b""
