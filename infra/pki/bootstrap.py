"""Create the bureau root, certify the KMS seal key, publish both for the issue and verify functions.

Library functions behind `python -m infra.pki`; the local stack and the tests call them directly.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from onestop.errors import NotFound
from onestop.licences.pki import (
    BureauIdentity,
    build_root_ca,
    cert_pem,
    issue_seal_certificate,
    load_pem_certificates,
    load_private_key_pem,
    private_key_pem,
    public_key_der,
    sha256_fingerprint,
)
from onestop.licences.trust import (
    PkiIndex,
    RootEntry,
    SealEntry,
    describe,
    index_key,
    root_key,
    seal_key,
    tsa_key,
)
from onestop.ports import BlobStore

ROOT_CERT_FILE = "root.pem"
ROOT_KEY_FILE = "root.key.pem"
# A seal certificate this close to its end is replaced by bootstrap (old one stays published).
RENEW_BEFORE = timedelta(days=60)


@dataclass(frozen=True)
class BootstrapResult:
    """What bootstrap did: the index now published and whether it issued a new seal certificate."""

    index: PkiIndex
    root_sha256: str
    seal_sha256: str
    issued_new_seal: bool


def ensure_root(root_dir: Path, bureau: BureauIdentity, *, now: datetime) -> tuple[x509.Certificate, Any]:
    """Load the root CA from `root_dir`, or create it there (key file mode 0600).

    Local stack and tests only: in production the root key is generated and kept offline
    (see README.md) and only `issue-seal` runs where it is.
    """
    cert_path, key_path = root_dir / ROOT_CERT_FILE, root_dir / ROOT_KEY_FILE
    if cert_path.exists() and key_path.exists():
        return load_pem_certificates(cert_path.read_bytes())[0], load_private_key_pem(key_path.read_bytes())
    root_dir.mkdir(parents=True, exist_ok=True)
    cert, key = build_root_ca(bureau, now=now)
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(private_key_pem(key))
    cert_path.write_bytes(cert_pem(cert))
    return cert, key


def kms_public_key(kms: Any, key_id: str) -> tuple[bytes, str]:
    """(DER SubjectPublicKeyInfo, key ARN) of a KMS signing key; refuses anything but P-256 SIGN_VERIFY."""
    reply = kms.get_public_key(KeyId=key_id)
    spec = reply.get("KeySpec") or reply.get("CustomerMasterKeySpec")
    if spec != "ECC_NIST_P256" or reply.get("KeyUsage") != "SIGN_VERIFY":
        raise ValueError(
            f"KMS key {key_id} is {spec}/{reply.get('KeyUsage')}; the seal needs ECC_NIST_P256/SIGN_VERIFY"
        )
    return bytes(reply["PublicKey"]), str(reply["KeyId"])


def read_index(store: BlobStore, prefix: str) -> PkiIndex:
    try:
        return PkiIndex.from_json(store.get(index_key(prefix)).body)
    except NotFound:
        return PkiIndex.empty()


def _put_once(store: BlobStore, key: str, body: bytes) -> None:
    # Keys are content-addressed (SHA-256), so an existing object already holds these bytes; skipping
    # the put keeps the versioned, object-locked bucket free of duplicate versions.
    if store.head(key) is None:
        store.put(key, body, "application/x-pem-file")


def publish_tsa(
    store: BlobStore, prefix: str, *, tsa_cert: x509.Certificate, now: datetime | None = None
) -> PkiIndex:
    """Trust a time-stamping authority: its anchor (the TSA's root, or the TSA certificate itself) joins
    the trust bundle, so verifiers accept its document timestamps after a seal. Never removes one."""
    now = now or datetime.now(UTC)
    index = read_index(store, prefix)
    sha = sha256_fingerprint(tsa_cert)
    if any(t.sha256 == sha for t in index.tsa):
        return index
    _put_once(store, tsa_key(prefix, sha), cert_pem(tsa_cert))
    entry = RootEntry(sha, tsa_key(prefix, sha), *describe(tsa_cert))
    new_index = PkiIndex(index.roots, index.seals, index.current_seal, now.astimezone(UTC).isoformat(),
                         (*index.tsa, entry))  # fmt: skip
    store.put(index_key(prefix), new_index.to_json(), "application/json")
    return new_index


def publish(
    store: BlobStore,
    prefix: str,
    *,
    root_cert: x509.Certificate,
    seal_cert: x509.Certificate,
    kms_key_id: str,
    kms_key_arn: str | None,
    make_current: bool = True,
    now: datetime | None = None,
) -> PkiIndex:
    """Add the root and seal certificate to the published PKI (never removing any) and write the index.

    Certificates are written before the index, so the index never names a missing file.
    """
    now = now or datetime.now(UTC)
    seal_cert.verify_directly_issued_by(root_cert)
    index = read_index(store, prefix)
    root_sha, seal_sha = sha256_fingerprint(root_cert), sha256_fingerprint(seal_cert)
    roots = list(index.roots)
    if all(r.sha256 != root_sha for r in roots):
        _put_once(store, root_key(prefix, root_sha), cert_pem(root_cert))
        roots.append(RootEntry(root_sha, root_key(prefix, root_sha), *describe(root_cert)))
    seals = list(index.seals)
    if all(s.sha256 != seal_sha for s in seals):
        _put_once(store, seal_key(prefix, seal_sha), cert_pem(seal_cert))
        seals.append(
            SealEntry(
                sha256=seal_sha,
                key=seal_key(prefix, seal_sha),
                issuer_sha256=root_sha,
                kms_key_id=kms_key_id,
                kms_key_arn=kms_key_arn,
                subject=describe(seal_cert)[0],
                not_before=describe(seal_cert)[1],
                not_after=describe(seal_cert)[2],
            )
        )
    current = seal_sha if make_current else index.current_seal
    new_index = PkiIndex(tuple(roots), tuple(seals), current, now.astimezone(UTC).isoformat(), index.tsa)
    store.put(index_key(prefix), new_index.to_json(), "application/json")
    return new_index


def _usable_seal(
    store: BlobStore, index: PkiIndex, public_key: bytes, root_sha: str, now: datetime
) -> x509.Certificate | None:
    """A published seal certificate over `public_key`, from this root, not about to expire."""
    for entry in reversed(index.seals):
        if entry.issuer_sha256 != root_sha:
            continue
        cert = load_pem_certificates(store.get(entry.key).body)[0]
        if public_key_der(cert.public_key()) == public_key and cert.not_valid_after_utc - now > RENEW_BEFORE:
            return cert
    return None


def bootstrap(
    *,
    kms: Any,
    store: BlobStore,
    key_id: str,
    prefix: str,
    root_dir: Path,
    bureau: BureauIdentity,
    now: datetime | None = None,
    seal_valid_years: int = 5,
) -> BootstrapResult:
    """Everything in one go (local stack, dev accounts). Idempotent: a second run changes nothing
    unless the KMS key behind `key_id` changed (rotation) or its certificate is about to expire."""
    now = now or datetime.now(UTC)
    root_cert, root_priv = ensure_root(root_dir, bureau, now=now)
    public_key, key_arn = kms_public_key(kms, key_id)
    index = read_index(store, prefix)
    root_sha = sha256_fingerprint(root_cert)
    seal = _usable_seal(store, index, public_key, root_sha, now)
    issued = seal is None
    if seal is None:
        seal = issue_seal_certificate(
            root_cert=root_cert,
            root_key=root_priv,
            public_key=public_key,
            bureau=bureau,
            now=now,
            valid_years=seal_valid_years,
        )
    seal_sha = sha256_fingerprint(seal)
    if issued or index.current_seal != seal_sha:
        index = publish(
            store,
            prefix,
            root_cert=root_cert,
            seal_cert=seal,
            kms_key_id=key_id,
            kms_key_arn=key_arn,
            now=now,
        )
    return BootstrapResult(index=index, root_sha256=root_sha, seal_sha256=seal_sha, issued_new_seal=issued)
