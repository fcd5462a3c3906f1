"""The trust bundle: one trust model for the API, the web page and the offline CLI.

A bundle holds the bureau's roots (trust anchors), the seal certificates it published (with their key
id and validity) and the anchors of the time-stamping authorities whose document timestamps may follow
a seal. The same structure is served by `GET /trust`, read from a file by `onestop verify
--trust-bundle trust.json`, and built from the published PKI by the verify function.

`onestop verify --trust ROOT.pem` builds a bundle of roots only: the seal publication cannot be checked
then, and the issuer check says so (verdict unknown) instead of passing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from importlib import resources
from typing import Any

from asn1crypto import pem
from asn1crypto import x509 as asn1_x509

from onestop.licences.trust import PkiTrust


def fingerprint(cert: asn1_x509.Certificate) -> str:
    """Lower-case hex SHA-256 of the DER certificate (as the PKI index names certificates)."""
    return hashlib.sha256(cert.dump()).hexdigest()


def load_pem_bundle(data: bytes) -> list[asn1_x509.Certificate]:
    """Every certificate in PEM text (or one DER certificate); raises ValueError when there is none."""
    if pem.detect(data):
        certs = [
            asn1_x509.Certificate.load(der)
            for kind, _, der in pem.unarmor(data, multiple=True)
            if kind == "CERTIFICATE"
        ]
    else:
        certs = [asn1_x509.Certificate.load(data)]
    for cert in certs:
        _ = cert.native  # parse eagerly: a broken certificate fails here, not during a verification
    if not certs:
        raise ValueError("no certificate found")
    return certs


def to_pem(cert: asn1_x509.Certificate) -> str:
    return pem.armor("CERTIFICATE", cert.dump()).decode("ascii")


def key_id(cert: asn1_x509.Certificate) -> str:
    """The seal's key id: the first 8 bytes of the certificate's SHA-256, hex (as EU DCC key ids)."""
    return fingerprint(cert)[:16]


def _describe(cert: asn1_x509.Certificate, role: str, current: bool = False) -> dict[str, Any]:
    validity = cert["tbs_certificate"]["validity"]
    out: dict[str, Any] = {
        "role": role,
        "sha256": fingerprint(cert),
        "subject": cert.subject.human_friendly,
        "issuer": cert.issuer.human_friendly,
        "serial_number": format(cert.serial_number, "x"),
        "not_before": validity["not_before"].native.isoformat(),
        "not_after": validity["not_after"].native.isoformat(),
        "pem": to_pem(cert),
    }
    if role == "seal":
        out["current"] = current
        out["kid"] = key_id(cert)
    return out


@dataclass(frozen=True)
class TrustAnchors:
    """The trust bundle: roots, the published seal certificates, the TSA anchors.

    The signer of a licence must be one of `seals`; with `seals` empty (roots only, `--trust ROOT.pem`)
    the seal publication is not known and the issuer check cannot pass. A document timestamp counts
    only when its TSA chains to one of `tsa` (empty: no document timestamp is trusted).
    """

    roots: tuple[asn1_x509.Certificate, ...]
    seals: tuple[asn1_x509.Certificate, ...] = ()
    current_seal: str | None = None  # sha256 of the seal now in use (informational)
    tsa: tuple[asn1_x509.Certificate, ...] = ()

    @property
    def seals_published(self) -> bool:
        """Whether this bundle knows which seal certificates the bureau published."""
        return bool(self.seals)

    def __post_init__(self) -> None:
        if not self.roots:
            raise ValueError("at least one trust anchor (root certificate) is needed")

    @classmethod
    def from_pki(cls, trust: PkiTrust) -> TrustAnchors:
        return cls(
            roots=tuple(trust.roots),
            seals=tuple(s.cert for s in trust.seals),
            current_seal=trust.current.sha256 if trust.current else None,
            tsa=tuple(trust.tsa),
        )

    @classmethod
    def from_pem(cls, bundles: Iterable[bytes]) -> TrustAnchors:
        """Every certificate given is a trust anchor (what `onestop verify --trust FILE` means)."""
        roots = [cert for data in bundles for cert in load_pem_bundle(data)]
        return cls(roots=tuple(roots))

    @classmethod
    def from_trust_document(cls, doc: Mapping[str, Any]) -> TrustAnchors:
        """From the body of `GET /trust` (also the file `onestop verify --trust-bundle` reads).

        Every listed fingerprint must match its PEM: a bundle edited by hand fails loudly.
        """

        def certs(entries: Any) -> list[asn1_x509.Certificate]:
            out = []
            for entry in entries or []:
                for cert in load_pem_bundle(str(entry["pem"]).encode("ascii")):
                    listed = entry.get("sha256")
                    if listed and listed.lower() != fingerprint(cert):
                        raise ValueError(f"certificate {listed} does not match its PEM")
                    out.append(cert)
            return out

        return cls(
            roots=tuple(certs(doc.get("roots"))),
            seals=tuple(certs(doc.get("seals"))),
            current_seal=doc.get("current_seal"),
            tsa=tuple(certs(doc.get("tsa"))),
        )

    @classmethod
    def from_der(
        cls,
        roots: Sequence[bytes],
        seals: Sequence[bytes] = (),
        current: str | None = None,
        tsa: Sequence[bytes] = (),
    ) -> TrustAnchors:
        return cls(
            roots=tuple(asn1_x509.Certificate.load(d) for d in roots),
            seals=tuple(asn1_x509.Certificate.load(d) for d in seals),
            current_seal=current,
            tsa=tuple(asn1_x509.Certificate.load(d) for d in tsa),
        )

    def der(self) -> tuple[tuple[bytes, ...], tuple[bytes, ...], tuple[bytes, ...]]:
        """The certificates as DER (what crosses into the verification worker)."""
        return (
            tuple(c.dump() for c in self.roots),
            tuple(c.dump() for c in self.seals),
            tuple(c.dump() for c in self.tsa),
        )

    @cached_property
    def seal_fingerprints(self) -> frozenset[str]:
        return frozenset(fingerprint(c) for c in self.seals)

    @cached_property
    def roots_by_subject(self) -> dict[bytes, asn1_x509.Certificate]:
        """Roots by the DER of their subject (the fast path's one-level chain look-up)."""
        return {c.subject.dump(): c for c in self.roots}

    def document(self, *, generated_at: datetime | None = None) -> dict[str, Any]:
        """The public trust document (`GET /trust`): every root and seal with fingerprint, PEM, validity."""
        out: dict[str, Any] = {
            "roots": [_describe(c, "root") for c in self.roots],
            "seals": [_describe(c, "seal", fingerprint(c) == self.current_seal) for c in self.seals],
            "current_seal": self.current_seal,
            "tsa": [_describe(c, "tsa") for c in self.tsa],
        }
        if generated_at is not None:
            out["generated_at"] = generated_at.isoformat()
        return out


def bundled_anchors() -> TrustAnchors | None:
    """The trust bundle shipped inside the package (`onestop/verification/trust/`), if any.

    The repository ships none (each deployment has its own PKI); a distribution for verifiers of one
    bureau drops that bureau's `trust.json` (its `GET /trust` document) there, so that `onestop verify`
    works offline with the full trust model. Root PEM files alone are accepted too (roots only).
    """
    folder = resources.files("onestop.verification").joinpath("trust")
    if not folder.is_dir():
        return None
    bundle = folder.joinpath("trust.json")
    if bundle.is_file():
        return TrustAnchors.from_trust_document(json.loads(bundle.read_text("utf-8")))
    pems = [
        entry.read_bytes()
        for entry in sorted(folder.iterdir(), key=lambda e: e.name)
        if entry.is_file() and entry.name.endswith((".pem", ".crt"))
    ]
    if not pems:
        return None
    return TrustAnchors.from_pem(pems)
