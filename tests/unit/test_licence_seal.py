"""PAdES sealing with the local signer, checked by pyHanko and independently by poppler's pdfsig:
valid and trusted, whole file covered; a one-byte change and text-altering incremental updates are caught."""

from __future__ import annotations

import io
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from asn1crypto import keys as asn1_keys
from asn1crypto import tsp
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from onestop.identifiers.licence_id import make_licence_id
from onestop.licences.issuance import issue_licence
from onestop.licences.pki import (
    BureauIdentity,
    DevPki,
    cert_pem,
    issue_timestamping_certificate,
    make_dev_pki,
    to_asn1,
)
from onestop.licences.render import RenderedLicence, render_licence
from onestop.licences.seal import SEAL_FIELD, SealedPdf, seal_pdf
from onestop.licences.signers import LocalKeySigner
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.fields import MDPPerm
from pyhanko.sign.timestamps import DummyTimeStamper
from pyhanko.sign.validation.status import ModificationLevel
from pyhanko_certvalidator.registry import SimpleCertificateStore
from pypdf import PdfReader, PdfWriter
from reportlab.pdfgen.canvas import Canvas

from tests.unit.test_licence_support import (
    APPROVED_AT,
    BUREAU,
    BUREAU_USCC,
    ISSUER,
    OIL_LICENCE,
    TYPE_CODE,
    MemoryBlobStore,
    MemoryRegistry,
    RecordingPublisher,
    approval,
    assert_pdfsig_trusted,
    assert_pyhanko_trusted,
    pdfsig,
    pyhanko_status,
    sample_metadata,
)

LICENCE_ID = make_licence_id(TYPE_CODE, BUREAU_USCC, "20250000007")


@pytest.fixture(scope="module")
def pki() -> DevPki:
    return make_dev_pki(BUREAU)


@pytest.fixture(scope="module")
def rendered() -> RenderedLicence:
    meta = sample_metadata(licence_id=LICENCE_ID, number="440300-20250000007", application_id="app-7")
    return render_licence(meta, verify_url=f"https://onestop.example.gov.cn/verify/{LICENCE_ID}")


@pytest.fixture(scope="module")
def sealed(pki: DevPki, rendered: RenderedLicence) -> SealedPdf:
    signer = LocalKeySigner.from_dev_pki(pki)
    return seal_pdf(
        rendered.pdf, signer, seal_box=rendered.seal_box, signer_name=BUREAU.name_zh, location="深圳"
    )


def test_sealed_licence_validates_with_pyhanko(pki: DevPki, sealed: SealedPdf) -> None:
    status = pyhanko_status(sealed.pdf, [to_asn1(pki.root_cert)])
    assert_pyhanko_trusted(status)
    assert status.modification_level is ModificationLevel.NONE
    assert status.signer_reported_dt is not None  # signing time in the signature
    assert status.md_algorithm == "sha256"


def test_sealed_licence_validates_with_pdfsig(pki: DevPki, sealed: SealedPdf) -> None:
    assert_pdfsig_trusted(sealed.pdf, cert_pem(pki.root_cert))
    report = pdfsig(sealed.pdf, [cert_pem(pki.root_cert)])
    assert "Signature Type: ETSI.CAdES.detached" in report
    assert "Signing Time:" in report
    assert "SHA-256" in report


def test_signature_dictionary_and_visible_field(
    rendered: RenderedLicence, sealed: SealedPdf, pki: DevPki
) -> None:
    reader = PdfFileReader(io.BytesIO(sealed.pdf))
    sig = reader.embedded_signatures[0]
    assert sig.field_name == SEAL_FIELD
    assert sig.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"
    assert "/M" in sig.sig_object  # claimed signing time (PAdES puts it here, not in CMS)
    assert sig.docmdp_level is MDPPerm.NO_CHANGES  # certification signature
    rect = [float(v) for v in sig.sig_field["/Rect"]]
    assert rect == [float(v) for v in rendered.seal_box]  # clicking the drawn seal opens the signature
    assert sealed.seal_cert_sha256 == pki.seal_cert.fingerprint(hashes.SHA256()).hex()


def test_unknown_root_is_not_trusted(sealed: SealedPdf) -> None:
    other = make_dev_pki(BureauIdentity("某市商务局", "Other Bureau", BUREAU_USCC))
    status = pyhanko_status(sealed.pdf, [to_asn1(other.root_cert)])
    assert status.intact
    assert status.valid
    assert not status.trusted
    assert not status.bottom_line
    report = pdfsig(sealed.pdf, [cert_pem(other.root_cert)])
    assert "Signature is Valid." in report
    assert "Certificate is Trusted." not in report


def test_one_byte_change_in_the_signed_range_is_caught(pki: DevPki, sealed: SealedPdf) -> None:
    data = bytearray(sealed.pdf)
    at = data.index(b"onestop e-licence")  # the /Creator string: parseable after the change
    data[at] = ord("O")
    status = pyhanko_status(bytes(data), [to_asn1(pki.root_cert)])
    assert not status.intact
    assert not status.bottom_line
    report = pdfsig(bytes(data), [cert_pem(pki.root_cert)])
    assert "Signature is Valid." not in report
    assert "Signature is Invalid." in report or "Digest Mismatch" in report, report


def _text_overlay_with_pyhanko(sealed: bytes) -> bytes:
    writer = IncrementalPdfFileWriter(io.BytesIO(sealed))
    font = generic.DictionaryObject(
        {
            generic.NameObject("/Type"): generic.NameObject("/Font"),
            generic.NameObject("/Subtype"): generic.NameObject("/Type1"),
            generic.NameObject("/BaseFont"): generic.NameObject("/Helvetica"),
        }
    )
    resources = generic.DictionaryObject(
        {
            generic.NameObject("/Font"): generic.DictionaryObject(
                {generic.NameObject("/FX"): writer.add_object(font)}
            )
        }
    )
    stream = generic.StreamObject(
        stream_data=b"q 1 1 1 rg 180 600 300 30 re f Q BT /FX 18 Tf 190 610 Td (FORGED HOLDER) Tj ET"
    )
    writer.add_stream_to_page(0, writer.add_object(stream), resources=resources)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _text_overlay_with_pypdf(sealed: bytes) -> bytes:
    buf = io.BytesIO()
    c = Canvas(buf)
    c.setFont("Helvetica", 18)
    c.drawString(190, 610, "FORGED HOLDER")
    c.save()
    writer = PdfWriter(io.BytesIO(sealed), incremental=True)
    writer.pages[0].merge_page(PdfReader(io.BytesIO(buf.getvalue())).pages[0])
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.mark.parametrize("tamper", [_text_overlay_with_pyhanko, _text_overlay_with_pypdf])
def test_incremental_update_that_alters_the_text_is_caught(
    pki: DevPki, sealed: SealedPdf, tamper: Callable[[bytes], bytes]
) -> None:
    forged = tamper(sealed.pdf)
    assert forged.startswith(sealed.pdf)  # an incremental update: the signed bytes are untouched
    status = pyhanko_status(forged, [to_asn1(pki.root_cert)])
    assert status.intact
    assert status.valid
    assert status.modification_level > ModificationLevel.FORM_FILLING  # … but the page changed after it
    assert not status.docmdp_ok
    assert not status.bottom_line
    report = pdfsig(forged, [cert_pem(pki.root_cert)])
    assert "Not total document signed" in report, report


def test_timestamped_seal_is_pades_b_t(pki: DevPki, rendered: RenderedLicence) -> None:
    tsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)  # pyHanko's test TSA is RSA-only
    tsa_cert = issue_timestamping_certificate(
        root_cert=pki.root_cert,
        root_key=pki.root_key,
        public_key=tsa_key.public_key(),
        bureau=BUREAU,
        now=datetime.now(UTC),
    )
    tsa_key_info = asn1_keys.PrivateKeyInfo.load(
        tsa_key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    stamper = DummyTimeStamper(
        tsa_cert=to_asn1(tsa_cert),
        tsa_key=tsa_key_info,
        certs_to_embed=SimpleCertificateStore.from_certs([to_asn1(pki.root_cert)]),
    )
    out = seal_pdf(
        rendered.pdf,
        LocalKeySigner.from_dev_pki(pki),
        seal_box=rendered.seal_box,
        signer_name=BUREAU.name_zh,
        timestamper=stamper,
    )
    status = pyhanko_status(out.pdf, [to_asn1(pki.root_cert)])
    assert_pyhanko_trusted(status)
    assert status.timestamp_validity is not None
    assert status.timestamp_validity.intact
    assert status.timestamp_validity.valid
    assert status.timestamp_validity.trusted
    assert_pdfsig_trusted(out.pdf, cert_pem(pki.root_cert))


class _TsaHandler(BaseHTTPRequestHandler):
    """An RFC 3161 endpoint on localhost backed by pyHanko's test TSA."""

    stamper: DummyTimeStamper
    requests = 0

    def do_POST(self) -> None:
        type(self).requests += 1
        body = self.rfile.read(int(self.headers["Content-Length"]))
        reply = self.stamper.request_tsa_response(tsp.TimeStampReq.load(body)).dump()
        self.send_response(200)
        self.send_header("Content-Type", "application/timestamp-reply")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args: object) -> None:
        pass


def test_configured_tsa_url_gives_b_t_through_the_issue_path(pki: DevPki) -> None:
    tsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    tsa_cert = issue_timestamping_certificate(
        root_cert=pki.root_cert,
        root_key=pki.root_key,
        public_key=tsa_key.public_key(),
        bureau=BUREAU,
        now=datetime.now(UTC),
    )
    key_der = tsa_key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    _TsaHandler.stamper = DummyTimeStamper(
        tsa_cert=to_asn1(tsa_cert), tsa_key=asn1_keys.PrivateKeyInfo.load(key_der)
    )
    server = ThreadingHTTPServer(("127.0.0.1", 0), _TsaHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        issuer = replace(ISSUER, tsa_url=f"http://127.0.0.1:{server.server_address[1]}/tsa")
        store, registry = MemoryBlobStore(), MemoryRegistry()
        for app in ("app-ts-1", "app-ts-2"):
            issue_licence(
                approval(app),
                licence_type=OIL_LICENCE,
                issuer=issuer,
                registry=registry,
                store=store,
                signer=LocalKeySigner.from_dev_pki(pki),
                publisher=RecordingPublisher(),
                now=APPROVED_AT,
            )
    finally:
        server.shutdown()
    assert _TsaHandler.requests == 3  # one size probe for the cached client, then one per licence
    assert len(store.versions) == 2
    for versions in store.versions.values():
        body = versions[-1][1]
        status = pyhanko_status(body, [to_asn1(pki.root_cert)])
        assert_pyhanko_trusted(status)
        assert status.timestamp_validity is not None
        assert status.timestamp_validity.trusted
        assert_pdfsig_trusted(body, cert_pem(pki.root_cert))
