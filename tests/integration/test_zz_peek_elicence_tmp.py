import json
from tests.integration.test_api_elicence import *  # noqa
from tests.integration import test_api_elicence as t

def test_peek(bureau):
    record = bureau.issue()
    app_id = t.change_application()
    ok = t.attach(app_id, record.licence_id)
    print(json.dumps(ok.body, ensure_ascii=False, indent=1))
    r2 = bureau.issue()
    sealed = bytearray(bureau.store.get(r2.pdf.key, r2.pdf.version_id).body)
    sealed[len(sealed)//3] ^= 1
    bureau.aws.s3.put_object(Bucket=t.LICENCES, Key=r2.pdf.key, Body=bytes(sealed))
    app2 = t.change_application()
    print(json.dumps(t.attach(app2, r2.licence_id).body, ensure_ascii=False, indent=1))
    r3 = bureau.issue()
    lifecycle.revoke_licence(r3.licence_id, registry=bureau.registry, publisher=bureau.publisher, actor="x", reason="原因")
    print(json.dumps(t.attach(app2, r3.licence_id).body, ensure_ascii=False, indent=1))
