"""The installation's signing key: Ed25519, made on first need, kept owner-only in the data
directory (`export-signing.key`, PKCS#8 PEM, mode 0600). Evidence manifests are signed with
it; its public half is published (`GET /api/keys`) and carried in every export.

A fingerprint names a public key in a few characters a person can read out over the phone:
the first 16 bytes of SHA-256 over the raw 32-byte public key, as hex in groups of four.
"""

from __future__ import annotations

import hashlib
import os
import stat
import threading
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from vigil.errors import VigilError

KEY_FILE = "export-signing.key"
ALGORITHM = "Ed25519"


@dataclass(frozen=True, slots=True)
class PublicKey:
    """A public key as it is published: PEM and fingerprint."""

    pem: str
    fingerprint: str
    algorithm: str = ALGORITHM

    def record(self) -> dict[str, str]:
        return {
            "algorithm": self.algorithm,
            "fingerprint": self.fingerprint,
            "public_key": self.pem,
        }


def fingerprint(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    digest = hashlib.sha256(raw).hexdigest()[:32]
    return ":".join(digest[i : i + 4] for i in range(0, 32, 4))


def public_pem(key: Ed25519PublicKey) -> str:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def published(key: Ed25519PublicKey) -> PublicKey:
    return PublicKey(public_pem(key), fingerprint(key))


def load_public_pem(text: str | bytes, what: str) -> Ed25519PublicKey:
    """A PEM public key (SubjectPublicKeyInfo) that must be Ed25519; VigilError naming `what`."""
    data = text.encode("ascii", "replace") if isinstance(text, str) else text
    try:
        key = serialization.load_pem_public_key(data)
    except ValueError:
        raise VigilError(
            f"{what} is not a PEM public key; give the key GET /api/keys publishes"
        ) from None
    if not isinstance(key, Ed25519PublicKey):
        raise VigilError(f"{what} is not an Ed25519 key; give the key GET /api/keys publishes")
    return key


def verifies(key: Ed25519PublicKey, signature: bytes, data: bytes) -> bool:
    try:
        key.verify(signature, data)
    except InvalidSignature:
        return False
    return True


def _read(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError):
        raise VigilError(
            f"the signing key {path} is damaged; restore it from a backup (exports signed with "
            "it can still be verified with its published public key)"
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise VigilError(f"the signing key {path} is not an Ed25519 key; restore it from a backup")
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        path.chmod(0o600)  # made private again, like the data directory itself
    return key


def signing_key(data_dir: Path) -> Ed25519PrivateKey:
    """The installation's private key; made (0600, never overwritten) on first need."""
    path = data_dir / KEY_FILE
    if path.exists():
        return _read(path)
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    # Written aside, then linked into place: a reader never sees half a key, and of two
    # processes making one at once, the second to link uses the first one's.
    tmp = data_dir / f".{KEY_FILE}.{os.getpid()}.{threading.get_ident()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, stat.S_IRUSR | stat.S_IWUSR)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
        fh.flush()
        os.fsync(fh.fileno())
    try:
        os.link(tmp, path)
    except FileExistsError:
        return _read(path)
    finally:
        tmp.unlink()
    return key


def public_key(data_dir: Path) -> PublicKey:
    """The installation's public key, as published."""
    return published(signing_key(data_dir).public_key())
