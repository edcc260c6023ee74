"""Schemathesis hooks: how to make values of the document's own formats.

`ed25519-public-key` is a standard-base64 Ed25519 public key, a point on
the curve; JSON Schema cannot say that, so valid keys are made here from
random seeds with the `cryptography` package.
"""

import base64

import schemathesis
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import strategies as st


def public_key(seed: bytes) -> str:
    key = Ed25519PrivateKey.from_private_bytes(seed).public_key()
    return base64.b64encode(key.public_bytes_raw()).decode()


schemathesis.openapi.format(
    "ed25519-public-key", st.binary(min_size=32, max_size=32).map(public_key)
)
