"""The QR credential and the signed lists against moto: a licence issued with the KMS seal key carries
a credential in its printed QR code (decoded from the rendered page with zxing-cpp); its issue and
every status change republish the type's status list through the issue function's routes; the verify
function serves the list and the signed trust list, which an offline verifier anchors to the root."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from onestop.catalogue import load_catalogue
from onestop.licences.credential import facts_digest, parse_credential
from onestop.licences.issuance import issue_licence
from onestop.licences.issuer import EVENT_ROUTES, SCHEDULED_ROUTES, LicenceOffice
from onestop.licences.jws import seal_key_from_signer
from onestop.licences.lifecycle import change_status
from onestop.licences.models import Action, LicenceRecord
from onestop.licences.publishing import ListPublisher
from onestop.licences.status_list import StatusList, status_list_key
from onestop.licences.trust import load_trust
from onestop.licences.trust_list import TRUST_LIST_KEY, verify_trust_list
from onestop.verification.anchors import TrustAnchors, key_id
from onestop.verification.credential_check import check_credential

from tests.integration import test_verify_api
from tests.integration.test_verify_api import Cloud
from tests.unit.test_licence_support import ISSUER, OIL_LICENCE, TYPE_CODE, RecordingPublisher, approval

ROOT = Path(__file__).resolve().parents[2]
cloud = test_verify_api.cloud  # the moto fixture: KMS seal key, bootstrapped PKI, verify handler


class Links:
    def link_licence(self, application_id: str, licence_id: str) -> None:
        pass


def qr_texts(pdf: bytes, dpi: int = 150) -> list[str]:
    """Every QR code on the rendered first page, as a phone camera would see a flat print."""
    import pypdfium2
    import zxingcpp

    page = pypdfium2.PdfDocument(pdf)[0]
    image = page.render(scale=dpi / 72).to_pil()
    return [r.text for r in zxingcpp.read_barcodes(image) if r.format == zxingcpp.BarcodeFormat.QRCode]


def office_of(cloud: Cloud, events: RecordingPublisher) -> tuple[LicenceOffice, ListPublisher]:
    trust = lambda: TrustAnchors.from_pki(load_trust(cloud.store, "pki/"))  # noqa: E731
    lists = ListPublisher(
        registry=cloud.registry,
        store=cloud.store,
        seal_key=lambda: seal_key_from_signer(cloud.signer),
        anchors=trust,
    )
    office = LicenceOffice(
        catalogue=load_catalogue(),
        issuer=ISSUER,
        registry=cloud.registry,
        store=cloud.store,
        publisher=events,
        applications=Links(),
        signer=lambda: cloud.signer,
        lists=lambda: lists,
    )
    return office, lists


def deliver(office: LicenceOffice, events: RecordingPublisher) -> list[dict[str, Any]]:
    """Hand every recorded event the issue function's rules deliver to it, as EventBridge would."""
    out = [office.handle(t, d) for t, d in events.events if t in EVENT_ROUTES and t.startswith("Licence")]
    events.events.clear()
    return out


def issue(cloud: Cloud, app_id: str = "app-0001") -> tuple[LicenceRecord, bytes]:
    """Issue now (the bootstrapped seal certificate is valid from now on)."""
    now = datetime.now(UTC)
    record = issue_licence(
        approval(app_id, approved_at=now),
        licence_type=OIL_LICENCE,
        issuer=ISSUER,
        registry=cloud.registry,
        store=cloud.store,
        signer=cloud.signer,
        publisher=cloud.publisher,
        now=now,
    )
    assert record.pdf is not None
    return record, cloud.store.get(record.pdf.key, version_id=record.pdf.version_id).body


def served_list(cloud: Cloud) -> StatusList:
    code, body = cloud.get(f"/status-lists/{TYPE_CODE}")
    assert code == 200, body
    return StatusList.from_document(body)


def test_issue_prints_the_credential_and_status_changes_republish_the_list(cloud: Cloud) -> None:
    events = RecordingPublisher()
    office, _ = office_of(cloud, events)
    cloud.publisher = events  # type: ignore[assignment]
    record, pdf = issue(cloud)
    assert record.status_index is not None

    # the printed QR holds the credential of exactly this licence
    (text,) = qr_texts(pdf)
    credential, _ = parse_credential(text)
    assert credential.licence_id == record.licence_id
    assert credential.status_index == record.status_index
    assert credential.digest == facts_digest(record.metadata)
    assert credential.kid == key_id(cloud.signer.signing_cert)

    code, _ = cloud.get(f"/status-lists/{TYPE_CODE}")
    assert code == 404  # nothing published before the LicenceIssued event is handled
    deliver(office, events)
    trust = TrustAnchors.from_pki(load_trust(cloud.store, "pki/"))
    at = record.issued_at
    assert at is not None
    fresh = served_list(cloud)
    assert fresh.verify(trust) is None
    assert check_credential(text, trust=trust, status_lists={TYPE_CODE: fresh}, at=at).verdict == "valid"

    change_status(
        Action.SUSPEND,
        record.licence_id,
        registry=cloud.registry,
        publisher=events,
        actor="admin-wang",
        reason="现场检查不合格",
        now=at,
    )
    (published,) = deliver(office, events)
    assert published["status_list"] == TYPE_CODE
    suspended = served_list(cloud)
    assert suspended.status_at(record.status_index) == 1
    out = check_credential(text, trust=trust, status_lists={TYPE_CODE: suspended}, at=at)
    assert out.verdict == "suspended"
    # online the registry answers too, and agrees
    online = check_credential(text, trust=trust, status_lists={}, at=at, registry_lookup=cloud.registry.get)
    assert online.verdict == "suspended"
    assert online.tick("registry").ok is True  # type: ignore[union-attr]

    change_status(
        Action.REVOKE,
        record.licence_id,
        registry=cloud.registry,
        publisher=events,
        actor="admin-wang",
        reason="以欺骗手段取得",
        now=at,
    )
    deliver(office, events)
    assert served_list(cloud).status_at(record.status_index) == 2


def test_a_second_licence_gets_the_next_index_and_its_own_bits(cloud: Cloud) -> None:
    events = RecordingPublisher()
    office, _ = office_of(cloud, events)
    cloud.publisher = events  # type: ignore[assignment]
    first, _ = issue(cloud, "app-0001")
    second, _ = issue(cloud, "app-0002")
    assert (first.status_index, second.status_index) == (0, 1)
    change_status(
        Action.SUSPEND, second.licence_id, registry=cloud.registry, publisher=events, actor="a", reason="r"
    )
    deliver(office, events)
    served = served_list(cloud)
    assert (served.status_at(0), served.status_at(1)) == (0, 1)


def test_the_schedule_publishes_the_signed_trust_list_an_offline_verifier_anchors(cloud: Cloud) -> None:
    events = RecordingPublisher()
    office, _ = office_of(cloud, events)
    cloud.publisher = events  # type: ignore[assignment]
    record, pdf = issue(cloud)
    _, unsigned = cloud.get("/trust")
    assert "jws" not in unsigned  # before the first publication: the unsigned document
    (scheduled,) = _template_schedule_input()
    result = office.handle(scheduled["detail-type"], scheduled["detail"])
    assert result["status_lists"] == [TYPE_CODE]
    code, document = cloud.get("/trust")
    assert code == 200
    assert cloud.store.head(TRUST_LIST_KEY) is not None
    pki = load_trust(cloud.store, "pki/")
    verified = verify_trust_list(document, pinned_roots=list(pki.roots))
    assert verified.status_lists == (TYPE_CODE,)
    (text,) = qr_texts(pdf)
    at = record.issued_at
    assert at is not None
    out = check_credential(text, trust=verified.anchors, status_lists={TYPE_CODE: served_list(cloud)}, at=at)
    assert out.verdict == "valid", out.as_dict()


def _template_schedule_input() -> list[dict[str, Any]]:
    """The issue function's schedule inputs in template.yaml (what EventBridge Scheduler sends)."""

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("!", lambda loader, suffix, node: None)
    template = yaml.load((ROOT / "template.yaml").read_text("utf-8"), Loader=Loader)
    events = template["Resources"]["IssueFunction"]["Properties"]["Events"]
    inputs = [json.loads(e["Properties"]["Input"]) for e in events.values() if e["Type"] == "ScheduleV2"]
    for payload in inputs:
        assert payload["detail-type"] in SCHEDULED_ROUTES
        assert payload["id"]  # the handler's EventBridgeEvent reads it
    return inputs


def test_a_malformed_list_name_is_422_and_an_unknown_one_404(cloud: Cloud) -> None:
    code, body = cloud.get("/status-lists/..%2F..%2Fpki%2Findex")
    assert code == 422
    assert body["code"] == "status_list_name_invalid"
    code, _ = cloud.get(f"/status-lists/{TYPE_CODE[:-1]}9")
    assert code == 404


@pytest.fixture(autouse=True)
def _no_stray_state(cloud: Cloud) -> None:
    assert cloud.store.head(status_list_key(TYPE_CODE)) is None
