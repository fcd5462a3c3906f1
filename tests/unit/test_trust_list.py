"""The signed trust list (licences/trust_list.py): anchored to pinned roots, tamper-evident, unable to
add a root, refusing a replayed older list, and still readable by the unsigned trust-bundle readers."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from onestop.licences.jws import SealKey, seal_key_from_signer
from onestop.licences.pki import DevPki, cert_pem, make_dev_pki, to_asn1
from onestop.licences.signers import LocalKeySigner
from onestop.licences.status_list import build_status_list
from onestop.licences.trust_list import (
    TrustListError,
    load_cache,
    sign_trust_list,
    verify_trust_list,
    write_cache,
)
from onestop.verification.anchors import TrustAnchors, fingerprint

from tests.unit.test_licence_support import BUREAU, TYPE_CODE

AT = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture(scope="module")
def pki() -> DevPki:
    return make_dev_pki(BUREAU, now=AT)


@pytest.fixture(scope="module")
def stranger() -> DevPki:
    return make_dev_pki(BUREAU, now=AT)


@pytest.fixture(scope="module")
def key(pki: DevPki) -> SealKey:
    return seal_key_from_signer(LocalKeySigner.from_dev_pki(pki))


def anchors_of(*pkis: DevPki) -> TrustAnchors:
    return TrustAnchors(
        roots=tuple(to_asn1(p.root_cert) for p in pkis), seals=tuple(to_asn1(p.seal_cert) for p in pkis)
    )


def edit_payload(document: dict[str, object], change: dict[str, object]) -> dict[str, object]:
    header, payload, signature = str(document["jws"]).split(".")
    body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    body.update(change)
    edited = base64.urlsafe_b64encode(json.dumps(body).encode()).rstrip(b"=").decode()
    return {**document, "jws": f"{header}.{edited}.{signature}"}


def test_a_list_signed_under_the_pinned_root_verifies(pki: DevPki, key: SealKey) -> None:
    document = sign_trust_list(anchors_of(pki), key=key, at=AT, status_lists=[TYPE_CODE])
    verified = verify_trust_list(document, pinned_roots=[to_asn1(pki.root_cert)])
    assert verified.signer_kid == key.kid
    assert verified.anchors.seal_fingerprints == {fingerprint(to_asn1(pki.seal_cert))}
    assert verified.status_lists == (TYPE_CODE,)
    assert verified.fresh(AT + timedelta(days=6))
    assert not verified.fresh(AT + timedelta(days=8))
    assert document["status_list_keys"] == [key.kid]


def test_a_tampered_trust_list_fails_its_signature(pki: DevPki, stranger: DevPki, key: SealKey) -> None:
    document = sign_trust_list(anchors_of(pki), key=key, at=AT)
    stranger_seal = fingerprint(to_asn1(stranger.seal_cert))
    document["seals"] = [*document["seals"], *anchors_of(stranger).document()["seals"]]
    forged = edit_payload(document, {"seals": [fingerprint(to_asn1(pki.seal_cert)), stranger_seal]})
    with pytest.raises(TrustListError) as err:
        verify_trust_list(forged, pinned_roots=[to_asn1(pki.root_cert)])
    assert "篡改" in err.value.message_zh
    assert "altered" in err.value.message_en


def test_the_unsigned_top_level_copy_is_never_believed(pki: DevPki, stranger: DevPki, key: SealKey) -> None:
    document = sign_trust_list(anchors_of(pki), key=key, at=AT)
    document["seals"] = [
        *document["seals"],
        *anchors_of(stranger).document()["seals"],
    ]  # readable copy edited
    verified = verify_trust_list(document, pinned_roots=[to_asn1(pki.root_cert)])
    assert verified.anchors.seal_fingerprints == {fingerprint(to_asn1(pki.seal_cert))}


def test_a_list_signed_outside_the_pinned_roots_is_refused(pki: DevPki, stranger: DevPki) -> None:
    other = seal_key_from_signer(LocalKeySigner.from_dev_pki(stranger))
    document = sign_trust_list(anchors_of(stranger), key=other, at=AT)
    with pytest.raises(TrustListError, match="pinned root"):
        verify_trust_list(document, pinned_roots=[to_asn1(pki.root_cert)])


def test_a_list_cannot_add_a_root(pki: DevPki, stranger: DevPki, key: SealKey) -> None:
    # Signed by the genuine seal key, but naming a second root and that root's seal (what a thief of
    # the seal key would publish to keep his own key trusted after the theft is found).
    document = sign_trust_list(anchors_of(pki, stranger), key=key, at=AT)
    verified = verify_trust_list(document, pinned_roots=[to_asn1(pki.root_cert)])
    assert verified.ignored_roots == (fingerprint(to_asn1(stranger.root_cert)),)
    assert [fingerprint(r) for r in verified.anchors.roots] == [fingerprint(to_asn1(pki.root_cert))]
    assert verified.anchors.seal_fingerprints == {fingerprint(to_asn1(pki.seal_cert))}


def test_an_older_list_is_a_replay(pki: DevPki, key: SealKey) -> None:
    old = sign_trust_list(anchors_of(pki), key=key, at=AT + timedelta(hours=1))
    with pytest.raises(TrustListError, match="older"):
        verify_trust_list(old, pinned_roots=[to_asn1(pki.root_cert)], not_before=AT + timedelta(hours=2))


def test_a_certificate_the_manifest_lists_must_be_in_the_document(pki: DevPki, key: SealKey) -> None:
    document = sign_trust_list(anchors_of(pki), key=key, at=AT)
    document["roots"] = []
    with pytest.raises(TrustListError, match="not in it"):
        verify_trust_list(document, pinned_roots=[to_asn1(pki.root_cert)])


def test_an_unsigned_document_is_refused(pki: DevPki) -> None:
    with pytest.raises(TrustListError, match="not signed"):
        verify_trust_list(anchors_of(pki).document(), pinned_roots=[to_asn1(pki.root_cert)])


def test_old_trust_bundle_readers_still_read_the_signed_document(pki: DevPki, key: SealKey) -> None:
    document = sign_trust_list(anchors_of(pki), key=key, at=AT)
    reread = TrustAnchors.from_trust_document(json.loads(json.dumps(document)))
    assert reread.seal_fingerprints == {fingerprint(to_asn1(pki.seal_cert))}


def test_the_cache_round_trips_and_is_reverified(
    pki: DevPki, stranger: DevPki, key: SealKey, tmp_path: Path
) -> None:
    document = sign_trust_list(anchors_of(pki), key=key, at=AT, status_lists=[TYPE_CODE])
    verified = verify_trust_list(document, pinned_roots=[to_asn1(pki.root_cert)])
    status_list = build_status_list(TYPE_CODE, {7: 2}, key=key, at=AT)
    written = write_cache(tmp_path, verified, [status_list])
    assert sorted(p.name for p in written) == [f"{TYPE_CODE}.json", "trust.json"]
    anchors, lists = load_cache(tmp_path, pinned_roots=[to_asn1(pki.root_cert)])
    assert anchors.seal_fingerprints == verified.anchors.seal_fingerprints
    assert lists[TYPE_CODE].status_at(7) == 2
    # a cached trust.json edited on disk fails when re-verified
    edited = edit_payload(document, {"seals": [fingerprint(to_asn1(stranger.seal_cert))]})
    (tmp_path / "trust.json").write_text(json.dumps(edited))
    with pytest.raises(TrustListError):
        load_cache(tmp_path, pinned_roots=[to_asn1(pki.root_cert)])


# ----------------------------------------------------------------------------- onestop trust update


class Service:
    """A verify service on a local port serving what the test puts in `documents` (path -> JSON)."""

    def __init__(self) -> None:
        import http.server
        import threading

        documents: dict[str, object] = {}
        self.documents = documents

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = documents.get(self.path)
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(json.dumps(body if body is not None else {"code": "not_found"}).encode())

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def service() -> Iterator[Service]:
    running = Service()
    yield running
    running.close()


def run_cli(*argv: str) -> tuple[int, str]:
    import io

    from onestop.cli import main

    out = io.StringIO()
    return main(list(argv), out=out), out.getvalue()


def publish(service: Service, pki: DevPki, key: SealKey, at: datetime, entries: dict[int, int]) -> None:
    service.documents["/trust"] = sign_trust_list(anchors_of(pki), key=key, at=at, status_lists=[TYPE_CODE])
    service.documents[f"/status-lists/{TYPE_CODE}"] = build_status_list(
        TYPE_CODE, entries, key=key, at=at
    ).document()


def test_trust_update_caches_what_verifies_and_refuses_a_replay(
    pki: DevPki, key: SealKey, service: Service, tmp_path: Path
) -> None:
    root_pem = tmp_path / "root.pem"
    root_pem.write_bytes(cert_pem(pki.root_cert))
    cache = tmp_path / "cache"
    publish(service, pki, key, AT + timedelta(hours=2), {9: 1})
    code, out = run_cli(
        "trust", "update", "--service", service.url, "--out", str(cache), "--root", str(root_pem)
    )
    assert code == 0, out
    anchors, lists = load_cache(cache)  # re-verified against the pinned roots it wrote
    assert lists[TYPE_CODE].status_at(9) == 1
    assert anchors.seal_fingerprints == {fingerprint(to_asn1(pki.seal_cert))}
    # the next update needs no --root (pinned in the cache); an older list is a replay
    publish(service, pki, key, AT + timedelta(hours=1), {})
    code, _ = run_cli("trust", "update", "--service", service.url, "--out", str(cache))
    assert code == 1
    assert load_cache(cache)[1][TYPE_CODE].status_at(9) == 1  # the cache kept the newer list


def test_trust_update_writes_nothing_when_a_list_is_forged(
    pki: DevPki, stranger: DevPki, key: SealKey, service: Service, tmp_path: Path
) -> None:
    root_pem = tmp_path / "root.pem"
    root_pem.write_bytes(cert_pem(pki.root_cert))
    publish(service, pki, key, AT + timedelta(hours=1), {})
    other = seal_key_from_signer(LocalKeySigner.from_dev_pki(stranger))
    forged = build_status_list(TYPE_CODE, {}, key=replace(other, kid=key.kid), at=AT + timedelta(hours=1))
    service.documents[f"/status-lists/{TYPE_CODE}"] = forged.document()
    code, _ = run_cli(
        "trust", "update", "--service", service.url, "--out", str(tmp_path / "c"), "--root", str(root_pem)
    )
    assert code == 1
    assert not (tmp_path / "c").exists()


def test_trust_update_without_a_pinned_root_is_a_usage_error(
    pki: DevPki, key: SealKey, service: Service, tmp_path: Path
) -> None:
    publish(service, pki, key, AT + timedelta(hours=1), {})
    code, _ = run_cli("trust", "update", "--service", service.url, "--out", str(tmp_path / "c"))
    assert code == 2
