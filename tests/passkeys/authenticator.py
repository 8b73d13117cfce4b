"""A software authenticator for server tests: an EC P-256 key that answers the service's
WebAuthn options the way a browser and a platform authenticator would (attestation "none").
The attestation object's CBOR is written with cbor2, which py_webauthn itself uses."""

import hashlib
import json
import os
import struct

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url

UP, UV, BE, BS, AT = 0x01, 0x04, 0x08, 0x10, 0x40
ORIGIN = "http://localhost:8000"
RP_ID = "localhost"


class SoftAuthenticator:
    def __init__(self, *, origin: str = ORIGIN, rp_id: str = RP_ID, counter: bool = False):
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.credential_id = os.urandom(32)
        self.origin = origin
        self.rp_id = rp_id
        # Synced passkeys keep a count of 0; a device-bound key counts up when `counter`.
        self.counter = counter
        self.sign_count = 0
        self.user_handle: bytes | None = None

    @property
    def id(self) -> str:
        return bytes_to_base64url(self.credential_id)

    def _cose_key(self) -> bytes:
        numbers = self.key.public_key().public_numbers()
        return cbor2.dumps(
            {
                1: 2,
                3: -7,
                -1: 1,
                -2: numbers.x.to_bytes(32, "big"),
                -3: numbers.y.to_bytes(32, "big"),
            }
        )

    def _auth_data(self, rp_id: str, flags: int, sign_count: int, attested: bool) -> bytes:
        data = (
            hashlib.sha256(rp_id.encode()).digest() + bytes([flags]) + struct.pack(">I", sign_count)
        )
        if attested:
            data += bytes(16) + struct.pack(">H", len(self.credential_id)) + self.credential_id
            data += self._cose_key()
        return data

    def _client_data(self, kind: str, challenge: str, origin: str) -> bytes:
        return json.dumps(
            {"type": kind, "challenge": challenge, "origin": origin, "crossOrigin": False}
        ).encode()

    def register(self, options: dict, *, origin=None, rp_id=None, uv=True, rk=True) -> str:
        """The JSON credential for navigator.credentials.create with these options."""
        self.user_handle = base64url_to_bytes(options["user"]["id"])
        flags = UP | AT | (UV if uv else 0)
        auth_data = self._auth_data(rp_id or self.rp_id, flags, self.sign_count, attested=True)
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        client_data = self._client_data(
            "webauthn.create", options["challenge"], origin or self.origin
        )
        return json.dumps(
            {
                "id": self.id,
                "rawId": self.id,
                "type": "public-key",
                "authenticatorAttachment": "platform",
                "clientExtensionResults": {"credProps": {"rk": rk}},
                "response": {
                    "clientDataJSON": bytes_to_base64url(client_data),
                    "attestationObject": bytes_to_base64url(attestation),
                    "transports": ["internal"],
                },
            }
        )

    def assertion(
        self, options: dict, *, origin=None, rp_id=None, uv=True, sign_count=None, user_handle=None
    ) -> str:
        """The JSON credential for navigator.credentials.get with these options."""
        if sign_count is None:
            if self.counter:
                self.sign_count += 1
            sign_count = self.sign_count
        flags = UP | (UV if uv else 0)
        auth_data = self._auth_data(rp_id or self.rp_id, flags, sign_count, attested=False)
        client_data = self._client_data("webauthn.get", options["challenge"], origin or self.origin)
        signature = self.key.sign(
            auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256())
        )
        response = {
            "clientDataJSON": bytes_to_base64url(client_data),
            "authenticatorData": bytes_to_base64url(auth_data),
            "signature": bytes_to_base64url(signature),
        }
        handle = user_handle if user_handle is not None else self.user_handle
        if handle:
            response["userHandle"] = bytes_to_base64url(handle)
        return json.dumps(
            {
                "id": self.id,
                "rawId": self.id,
                "type": "public-key",
                "authenticatorAttachment": "platform",
                "clientExtensionResults": {},
                "response": response,
            }
        )
