"""The RSA key behind the emulator's JWKS and the OpenID Connect ID tokens it signs."""

from __future__ import annotations

import base64
import json
import secrets
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa


class SigningKey:
    """An RS256 key pair with a key id."""

    def __init__(self, private_key: rsa.RSAPrivateKey, kid: str) -> None:
        self.private_key = private_key
        self.kid = kid

    @classmethod
    def generate(cls) -> SigningKey:
        """A fresh 2048-bit key."""
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return cls(key, "r" + secrets.token_hex(16))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SigningKey:
        """Load a key saved with ``to_dict``."""
        key = serialization.load_pem_private_key(data["pem"].encode(), password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError("the saved signing key is not an RSA key")
        return cls(key, str(data["kid"]))

    def to_dict(self) -> dict[str, Any]:
        """PEM and key id, for the state file."""
        pem = self.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        return {"kid": self.kid, "pem": pem.decode()}

    def jwks(self) -> dict[str, Any]:
        """The public key as a JWK Set."""
        numbers = self.private_key.public_key().public_numbers()
        return {
            "keys": [
                {
                    "kty": "RSA",
                    "alg": "RS256",
                    "use": "sig",
                    "kid": self.kid,
                    "e": _b64url(_int_bytes(numbers.e)),
                    "n": _b64url(_int_bytes(numbers.n)),
                }
            ]
        }

    def sign(self, claims: dict[str, Any]) -> str:
        """A compact RS256 JWT over ``claims``."""
        header = {"kid": self.kid, "alg": "RS256"}
        signing_input = f"{_segment(header)}.{_segment(claims)}"
        signature = self.private_key.sign(
            signing_input.encode(), padding.PKCS1v15(), hashes.SHA256()
        )
        return f"{signing_input}.{_b64url(signature)}"


def _segment(value: dict[str, Any]) -> str:
    text = json.dumps(value, separators=(",", ":"))
    # intuit-oauth decodes the header and payload with the standard base64 alphabet,
    # which silently drops "-" and "_". In base64 of ASCII those two characters only come
    # from ">", "?", "~" and DEL, so escaping these keeps every segment readable to it.
    for char in ">?~\x7f":
        text = text.replace(char, f"\\u{ord(char):04x}")
    return _b64url(text.encode())


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _int_bytes(value: int) -> bytes:
    return value.to_bytes((value.bit_length() + 7) // 8, "big")
