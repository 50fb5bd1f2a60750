"""Checking an evidence export without Vigil's database: anyone given the folder (and, to
trust it, the installation's public key or its fingerprint) can run it.

What it establishes, and what not: a valid signature shows that manifest.json is exactly what
the holder of the signing key signed, and matching hashes that no listed file changed since.
The key inside the export proves nothing by itself (anyone can make a key and sign with it):
only a key or fingerprint obtained another way (GET /api/keys of the installation, a court's
copy) ties the export to that installation. Nothing here shows that the footage is true to the
scene, or that the key was not stolen; the audit rows and chain head in the manifest can be
checked against the installation's own log (`vigil audit verify`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from vigil.errors import VigilError
from vigil.recording.export import FORMAT, MANIFEST, SIGNATURE
from vigil.recording.keys import fingerprint, load_public_pem, verifies
from vigil.recording.stitch import sha256_of


@dataclass
class Verdict:
    problems: list[str] = field(default_factory=list)
    facts: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _manifest(folder: Path, v: Verdict) -> tuple[bytes, dict[str, Any]] | None:
    path = folder / MANIFEST
    if not path.is_file():
        v.problems.append(f"missing: {MANIFEST} (without it nothing can be checked)")
        return None
    data = path.read_bytes()
    try:
        manifest = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        v.problems.append(f"changed: {MANIFEST} is not valid JSON")
        return None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        v.problems.append(f"{MANIFEST} is not a Vigil evidence manifest ({FORMAT})")
        return None
    return data, manifest


def _embedded_key(manifest: dict[str, Any], v: Verdict) -> Ed25519PublicKey | None:
    key_info = _dict(manifest.get("key"))
    try:
        key = load_public_pem(str(key_info.get("public_key", "")), "the key in the manifest")
    except VigilError as exc:
        v.problems.append(str(exc))
        return None
    stated, actual = key_info.get("fingerprint"), fingerprint(key)
    if stated != actual:
        v.problems.append(
            f"the key in the manifest has fingerprint {actual}, not the {stated} it states: "
            "the key was replaced"
        )
    return key


def _signature(folder: Path, v: Verdict) -> bytes | None:
    path = folder / SIGNATURE
    if not path.is_file():
        v.problems.append(f"missing: {SIGNATURE} (the manifest is not signed)")
        return None
    try:
        sig = base64.b64decode(path.read_bytes().strip(), validate=True)
    except (binascii.Error, ValueError):
        sig = b""
    if len(sig) != 64:
        v.problems.append(f"changed: {SIGNATURE} is not an Ed25519 signature")
        return None
    return sig


def _check_trust(
    data: bytes,
    sig: bytes,
    key: Ed25519PublicKey,
    trusted: Ed25519PublicKey | None,
    trusted_fp: str | None,
    v: Verdict,
) -> None:
    signer = fingerprint(key)
    if not verifies(key, sig, data):
        v.problems.append(
            f"changed: {MANIFEST} does not match its signature ({SIGNATURE}): it was altered "
            "after signing, or signed with another key"
        )
        return
    v.facts.append(f"signature: valid, made with the key carried in the export ({signer})")
    if trusted is not None:
        want = fingerprint(trusted)
        if want != signer or not verifies(trusted, sig, data):
            v.problems.append(
                f"not signed by the trusted key {want}: signed by {signer} (forged, or "
                "another installation's export)"
            )
        else:
            v.facts.append(f"trust: signed by the trusted key you gave ({want})")
    if trusted_fp is not None:
        if _plain(trusted_fp) != _plain(signer):
            v.problems.append(
                f"not signed by the key with the published fingerprint {trusted_fp}: signed "
                f"by {signer}"
            )
        else:
            v.facts.append(f"trust: the signing key has the fingerprint you gave ({signer})")
    if trusted is None and trusted_fp is None:
        v.facts.append(
            "trust: NOT ESTABLISHED: the key came with the export and anyone can make a key; "
            f"compare {signer} with the fingerprint the installation publishes "
            "(GET /api/keys), or run again with --key or --fingerprint"
        )


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _plain(fp: str) -> str:
    return fp.replace(":", "").replace(" ", "").lower()


def _safe(name: str) -> bool:
    p = PurePosixPath(name)
    return bool(name) and not p.is_absolute() and ".." not in p.parts and "\\" not in name


def _check_files(folder: Path, manifest: dict[str, Any], v: Verdict) -> None:
    listed = _dict(manifest.get("files"))
    good = 0
    for name, facts in sorted(listed.items()):
        if not _safe(name) or not isinstance(facts, dict):
            v.problems.append(f"the manifest names a file outside the export: {name!r}")
            continue
        path = folder / name
        if not path.is_file():
            v.problems.append(f"missing: {name}")
        elif path.stat().st_size != facts.get("size"):
            v.problems.append(
                f"changed: {name} ({path.stat().st_size} bytes, signed as {facts.get('size')})"
            )
        elif sha256_of(path) != facts.get("sha256"):
            v.problems.append(f"changed: {name} (its SHA-256 is not the one signed)")
        else:
            good += 1
    for path in sorted(p for p in folder.rglob("*") if p.is_file() or p.is_symlink()):
        rel = path.relative_to(folder).as_posix()
        if rel not in listed and rel not in (MANIFEST, SIGNATURE):
            v.problems.append(f"added: {rel} (not in the manifest)")
    v.facts.append(f"files: {good} of {len(listed)} as signed (SHA-256 and size)")


def verify_export(
    folder: Path,
    trusted: Ed25519PublicKey | None = None,
    trusted_fingerprint: str | None = None,
) -> Verdict:
    """Every check on an export folder; each problem one line naming what is wrong."""
    if not folder.is_dir():
        raise VigilError(f"'{folder}' is not a folder; give the export's folder (unzip it first)")
    v = Verdict()
    found = _manifest(folder, v)
    sig = _signature(folder, v)
    if found is None:
        return v
    data, manifest = found
    key = _embedded_key(manifest, v)
    if key is not None and sig is not None:
        _check_trust(data, sig, key, trusted, trusted_fingerprint, v)
    _check_files(folder, manifest, v)
    v.facts.append(
        f"export {manifest.get('id')} made {manifest.get('created')} by "
        f"{manifest.get('exporter')} for {manifest.get('purpose')!r}; manifest SHA-256 "
        f"{hashlib.sha256(data).hexdigest()}"
    )
    head = (manifest.get("audit") or {}).get("head") or {}
    v.facts.append(
        "what this shows: no file listed changed since the key's holder signed the manifest. "
        "It does not show the footage is true to the scene or that the key was not stolen; "
        f"the audit rows and chain head (row {head.get('id')}, {str(head.get('hash'))[:16]}) "
        "can be checked against the installation's log with `vigil audit verify`"
    )
    return v
