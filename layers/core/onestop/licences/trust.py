"""The published PKI: trust anchors and seal certificates, read from a BlobStore.

Layout under the PKI prefix of the licences bucket (written by `python -m infra.pki`):

    <prefix>index.json              which certificates exist, which seal is current, KMS key ids
    <prefix>roots/<sha256>.pem      bureau root certificates (trust anchors), never deleted
    <prefix>seals/<sha256>.pem      seal certificates, never deleted: old licences keep validating
    <prefix>tsa/<sha256>.pem        anchors of the time-stamping authorities whose document timestamps
                                    verifiers accept after a seal (optional)

The issue function takes the *current* seal certificate and its chain from here; verifiers take all
roots as trust anchors (and all seal certificates as intermediates-to-know). Both read it through one
`CachedTrust` per container (built in `onestop.aws.composition`), re-read every few minutes.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from onestop.errors import Unavailable
from onestop.observability import logger
from onestop.ports import BlobStore

if TYPE_CHECKING:
    # Imported where used: the api function's routes import this module for its types, and pyHanko's
    # certificate validator and cryptography's x509 are a large part of a cold start (decisions.md).
    from asn1crypto import x509 as asn1_x509
    from cryptography import x509
    from pyhanko_certvalidator import ValidationContext

INDEX_NAME = "index.json"
INDEX_FORMAT = 1
# How long a container trusts its copy of the published PKI: a seal rotation (a new current seal) or a
# newly trusted TSA takes effect in the issue and verify functions within this many seconds.
TRUST_TTL_S = 300.0

T = TypeVar("T")
V = TypeVar("V")


class PkiError(RuntimeError):
    """The published PKI is missing or inconsistent (an operator must run `python -m infra.pki`)."""


def _norm_prefix(prefix: str) -> str:
    return prefix if not prefix or prefix.endswith("/") else prefix + "/"


def index_key(prefix: str) -> str:
    return f"{_norm_prefix(prefix)}{INDEX_NAME}"


def root_key(prefix: str, sha256: str) -> str:
    return f"{_norm_prefix(prefix)}roots/{sha256}.pem"


def seal_key(prefix: str, sha256: str) -> str:
    return f"{_norm_prefix(prefix)}seals/{sha256}.pem"


def tsa_key(prefix: str, sha256: str) -> str:
    return f"{_norm_prefix(prefix)}tsa/{sha256}.pem"


@dataclass(frozen=True)
class RootEntry:
    """One trust anchor as listed in the index."""

    sha256: str
    key: str
    subject: str
    not_before: str
    not_after: str

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class SealEntry:
    """One seal certificate as listed in the index, with the KMS key it certifies."""

    sha256: str
    key: str
    issuer_sha256: str
    kms_key_id: str
    kms_key_arn: str | None
    subject: str
    not_before: str
    not_after: str

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class PkiIndex:
    """The JSON index (format 1)."""

    roots: tuple[RootEntry, ...]
    seals: tuple[SealEntry, ...]
    current_seal: str | None
    updated_at: str
    tsa: tuple[RootEntry, ...] = ()  # TSA anchors (same shape as a root entry)

    def to_json(self) -> bytes:
        doc = {
            "format": INDEX_FORMAT,
            "updated_at": self.updated_at,
            "current_seal": self.current_seal,
            "roots": [r.as_dict() for r in self.roots],
            "seals": [s.as_dict() for s in self.seals],
            "tsa": [t.as_dict() for t in self.tsa],
        }
        return json.dumps(doc, ensure_ascii=False, indent=2).encode("utf-8")

    @classmethod
    def from_json(cls, data: bytes) -> PkiIndex:
        doc: Mapping[str, Any] = json.loads(data)
        if doc.get("format") != INDEX_FORMAT:
            raise PkiError(f"unknown PKI index format {doc.get('format')!r}")
        return cls(
            roots=tuple(RootEntry(**r) for r in doc.get("roots", [])),
            seals=tuple(SealEntry(**s) for s in doc.get("seals", [])),
            current_seal=doc.get("current_seal"),
            updated_at=doc.get("updated_at", ""),
            tsa=tuple(RootEntry(**t) for t in doc.get("tsa", [])),
        )

    @classmethod
    def empty(cls) -> PkiIndex:
        return cls((), (), None, "")


def describe(cert: x509.Certificate) -> tuple[str, str, str]:
    """(subject, not_before, not_after) as the index records them."""
    return (
        cert.subject.rfc4514_string(),
        cert.not_valid_before_utc.isoformat(),
        cert.not_valid_after_utc.isoformat(),
    )


@dataclass(frozen=True)
class SealCertificate:
    """A seal certificate with the KMS key it certifies and the chain up to its root."""

    cert: asn1_x509.Certificate
    sha256: str
    kms_key_id: str
    kms_key_arn: str | None
    chain: tuple[asn1_x509.Certificate, ...]  # issuer(s), root last

    @property
    def signing_key_id(self) -> str:
        """The exact key to sign with: the ARN when known (an alias may already point at a newer key)."""
        return self.kms_key_arn or self.kms_key_id


@dataclass(frozen=True)
class PkiTrust:
    """Everything issue and verify need from the PKI."""

    roots: tuple[asn1_x509.Certificate, ...]
    seals: tuple[SealCertificate, ...]
    current: SealCertificate | None
    index: PkiIndex = field(repr=False)
    tsa: tuple[asn1_x509.Certificate, ...] = ()

    def current_seal(self) -> SealCertificate:
        if self.current is None:
            raise PkiError("no current seal certificate is published; run `python -m infra.pki bootstrap`")
        return self.current

    def seal_by_sha256(self, sha256: str) -> SealCertificate | None:
        return next((s for s in self.seals if s.sha256 == sha256), None)

    def validation_context(self, *, moment: datetime | None = None, **kwargs: Any) -> ValidationContext:
        """A pyHanko context trusting exactly the bureau roots (no network fetching).

        `moment` validates "as of" a time, e.g. the registry's issued_at for an old licence whose
        seal certificate has since expired (the registry is the bureau's own record of when).
        """
        from pyhanko_certvalidator import ValidationContext

        return ValidationContext(
            trust_roots=list(self.roots),
            other_certs=[s.cert for s in self.seals],
            allow_fetching=False,
            moment=moment,
            **kwargs,
        )


def load_trust(store: BlobStore, prefix: str = "pki/") -> PkiTrust:
    """Read the index and every certificate it lists; check fingerprints and issuers."""
    from .pki import load_pem_certificates, sha256_fingerprint, to_asn1

    try:
        index = PkiIndex.from_json(store.get(index_key(prefix)).body)
    except PkiError:
        raise
    except Exception as exc:  # NotFound, malformed JSON, …: all mean "PKI not bootstrapped"
        raise PkiError(f"cannot read the PKI index {index_key(prefix)} in {store.name}: {exc}") from exc

    def read_cert(key: str, sha256: str) -> x509.Certificate:
        certs = load_pem_certificates(store.get(key).body)
        if len(certs) != 1 or sha256_fingerprint(certs[0]) != sha256:
            raise PkiError(f"{key} does not hold the certificate {sha256} the index lists")
        return certs[0]

    roots = {r.sha256: read_cert(r.key, r.sha256) for r in index.roots}
    seals: list[SealCertificate] = []
    for entry in index.seals:
        cert = read_cert(entry.key, entry.sha256)
        root = roots.get(entry.issuer_sha256)
        if root is None:
            raise PkiError(f"seal certificate {entry.sha256} names an unpublished root {entry.issuer_sha256}")
        try:
            cert.verify_directly_issued_by(root)
        except Exception as exc:
            raise PkiError(
                f"seal certificate {entry.sha256} is not signed by root {entry.issuer_sha256}"
            ) from exc
        seals.append(
            SealCertificate(
                cert=to_asn1(cert),
                sha256=entry.sha256,
                kms_key_id=entry.kms_key_id,
                kms_key_arn=entry.kms_key_arn,
                chain=(to_asn1(root),),
            )
        )
    tsa = tuple(to_asn1(read_cert(t.key, t.sha256)) for t in index.tsa)
    current = next((s for s in seals if s.sha256 == index.current_seal), None)
    if index.current_seal and current is None:
        raise PkiError(f"the current seal {index.current_seal} is not among the published seal certificates")
    return PkiTrust(
        roots=tuple(to_asn1(c) for c in roots.values()),
        seals=tuple(seals),
        current=current,
        index=index,
        tsa=tsa,
    )


class CachedTrust(Generic[T]):
    """The published PKI (or anything loaded from it), re-read at most every `ttl_s` seconds.

    A failed re-read keeps answering with the last good copy; with no copy yet it is a 503
    `trust_unavailable` (`Unavailable`). A rotation therefore shows within `ttl_s` seconds, not at once.
    """

    def __init__(self, load: Callable[[], T], ttl_s: float = TRUST_TTL_S) -> None:
        self._load = load
        self._ttl_s = ttl_s
        self._lock = threading.Lock()
        self._value: T | None = None
        self._loaded_at = 0.0

    def __call__(self) -> T:
        with self._lock:
            if self._value is None or time.monotonic() - self._loaded_at > self._ttl_s:
                try:
                    self._value = self._load()
                except Exception as exc:
                    if self._value is not None:  # keep answering with the last good copy
                        logger.warning("PKI reload failed; using the cached copy", extra={"error": str(exc)})
                        return self._value
                    raise _unavailable() from exc
                self._loaded_at = time.monotonic()
            return self._value

    def derived(self, view: Callable[[T], V]) -> Callable[[], V]:
        """`view` of the cached copy, computed once per copy (e.g. the verifier's trust anchors)."""
        lock = threading.Lock()
        memo: list[tuple[T, V]] = []

        def current() -> V:
            source = self()
            with lock:
                if not memo or memo[0][0] is not source:
                    try:
                        memo[:] = [(source, view(source))]
                    except Exception as exc:
                        raise _unavailable() from exc
                return memo[0][1]

        return current


def _unavailable() -> Unavailable:
    return Unavailable(
        "trust_unavailable",
        "暂时无法读取局方公布的证书，请稍后再试。",
        "The bureau's published certificates cannot be read right now; try again later.",
    )
