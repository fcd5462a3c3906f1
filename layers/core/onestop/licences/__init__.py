"""E-licences: GB/T 36903 metadata, rendering, PAdES sealing, issuance and lifecycle.

- `models`     metadata, registry record, status codes (01 valid … 99, superseded), legal transitions
- `render`     one-page A4 PDF with QR code and a drawn seal (pre-subset CJK font in `fonts/`)
- `seal`       PAdES (ETSI.CAdES.detached) with any pyHanko Signer; `signers` has the local one
- `pki`        root CA and seal certificate helpers; `trust` reads the published PKI from a BlobStore
- `registry`   the registry protocol (`onestop.aws.licence_registry` implements it on DynamoDB)
- `issuance`   `issue_licence`: one licence per approval, never half-issued
- `lifecycle`  `change_status` (suspend / reinstate / revoke / cancel / withdraw), renew and change
- `issuer`     `LicenceOffice`: the dependencies once, and issue / renew / change / change_status
"""
