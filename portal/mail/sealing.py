"""Encryption of secrets held in the outbox (Fernet, key from settings), so that an auth key
is never in the database, its WAL or its backups in clear."""

import base64
import hashlib
from functools import lru_cache

from cryptography.fernet import Fernet
from django.conf import settings


@lru_cache(maxsize=4)
def _fernet(material: str) -> Fernet:
    digest = hashlib.sha256(b"portal.mail.sealing:" + material.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def _current() -> Fernet:
    return _fernet(settings.MAIL_ENCRYPTION_KEY or settings.SECRET_KEY)


def seal(secret: str) -> bytes:
    return _current().encrypt(secret.encode())


def unseal(token: bytes) -> str:
    return _current().decrypt(bytes(token)).decode()
