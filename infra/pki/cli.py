"""Command line: `python -m infra.pki {bootstrap,export-public-key,issue-seal,publish,trust-tsa,show}`.

    bootstrap          local stack / dev: root CA in a local directory + seal certificate over the
                       KMS key + publish (idempotent)
    export-public-key  online:  write the KMS seal key's public key (DER) to a file
    issue-seal         offline: with the root key, certify that public key (writes seal.pem)
    publish            online:  add root.pem + seal.pem to the licences bucket and make the seal current
    trust-tsa          online:  add a time-stamping authority's anchor to the trust bundle, so that
                       its document timestamps after a seal verify
    show               print the published index

Bureau names and USCC default to the onestop settings (BUREAU_NAME_ZH, BUREAU_NAME_EN, BUREAU_USCC).
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from onestop.aws.clients import client
from onestop.aws.s3 import S3BlobStore
from onestop.catalogue import load_catalogue
from onestop.licences.pki import (
    BureauIdentity,
    cert_pem,
    issue_seal_certificate,
    load_pem_certificates,
    public_key_der,
    sha256_fingerprint,
)

from .bootstrap import bootstrap, ensure_root, kms_public_key, publish, publish_tsa, read_index

DEFAULT_ROOT_DIR = Path(".local/pki-root")


def _bureau(args: argparse.Namespace) -> BureauIdentity:
    authority = load_catalogue().authority
    return BureauIdentity(
        name_zh=args.bureau_name_zh or authority.name_zh,
        name_en=args.bureau_name_en or authority.name_en,
        uscc=args.bureau_uscc or authority.uscc,
    )


def _store(bucket: str) -> S3BlobStore:
    return S3BlobStore(bucket)


def _kms() -> Any:
    return client("kms")


def _add_bureau_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--bureau-name-zh")
    p.add_argument("--bureau-name-en")
    p.add_argument("--bureau-uscc")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m infra.pki", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("bootstrap", help="root CA (local dir) + seal certificate over the KMS key + publish")
    p.add_argument("--key-id", required=True, help="KMS key id, ARN or alias of the seal key")
    p.add_argument("--bucket", required=True, help="the licences bucket")
    p.add_argument("--prefix", default="pki/")
    p.add_argument("--root-dir", type=Path, default=DEFAULT_ROOT_DIR, help="where the local root key lives")
    p.add_argument("--seal-valid-years", type=int, default=5)
    _add_bureau_args(p)

    p = sub.add_parser("export-public-key", help="write the KMS key's public key (DER) to a file")
    p.add_argument("--key-id", required=True)
    p.add_argument("--out", type=Path, required=True)

    p = sub.add_parser("issue-seal", help="offline: certify a public key with the root key")
    p.add_argument("--root-dir", type=Path, required=True)
    p.add_argument("--public-key", type=Path, required=True, help="DER SubjectPublicKeyInfo")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--seal-valid-years", type=int, default=5)
    _add_bureau_args(p)

    p = sub.add_parser("publish", help="add root + seal certificates to the bucket; make the seal current")
    p.add_argument("--bucket", required=True)
    p.add_argument("--prefix", default="pki/")
    p.add_argument("--root-cert", type=Path, required=True)
    p.add_argument("--seal-cert", type=Path, required=True)
    p.add_argument("--key-id", required=True, help="the KMS key the seal certificate certifies")
    p.add_argument("--not-current", action="store_true", help="publish without switching the current seal")

    p = sub.add_parser("trust-tsa", help="add a TSA anchor (PEM) to the published trust bundle")
    p.add_argument("--bucket", required=True)
    p.add_argument("--prefix", default="pki/")
    p.add_argument("--cert", type=Path, required=True, help="the TSA's root or certificate, PEM")

    p = sub.add_parser("show", help="print the published index")
    p.add_argument("--bucket", required=True)
    p.add_argument("--prefix", default="pki/")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    now = datetime.now(UTC)
    if args.command == "bootstrap":
        result = bootstrap(
            kms=_kms(),
            store=_store(args.bucket),
            key_id=args.key_id,
            prefix=args.prefix,
            root_dir=args.root_dir,
            bureau=_bureau(args),
            now=now,
            seal_valid_years=args.seal_valid_years,
        )
        print(
            json.dumps(
                {
                    "root_sha256": result.root_sha256,
                    "seal_sha256": result.seal_sha256,
                    "issued_new_seal": result.issued_new_seal,
                    "index": f"s3://{args.bucket}/{args.prefix}index.json",
                },
                indent=2,
            )
        )
    elif args.command == "export-public-key":
        der, arn = kms_public_key(_kms(), args.key_id)
        args.out.write_bytes(der)
        print(f"wrote {args.out} for {arn}")
    elif args.command == "issue-seal":
        root_cert, root_key = ensure_root(args.root_dir, _bureau(args), now=now)
        seal = issue_seal_certificate(
            root_cert=root_cert,
            root_key=root_key,
            public_key=args.public_key.read_bytes(),
            bureau=_bureau(args),
            now=now,
            valid_years=args.seal_valid_years,
        )
        args.out.write_bytes(cert_pem(seal))
        print(f"wrote {args.out} sha256={sha256_fingerprint(seal)}")
    elif args.command == "publish":
        kms_der, arn = kms_public_key(_kms(), args.key_id)
        seal = load_pem_certificates(args.seal_cert.read_bytes())[0]
        if public_key_der(seal.public_key()) != kms_der:
            raise SystemExit(f"{args.seal_cert} does not certify KMS key {args.key_id}")
        index = publish(
            _store(args.bucket),
            args.prefix,
            root_cert=load_pem_certificates(args.root_cert.read_bytes())[0],
            seal_cert=seal,
            kms_key_id=args.key_id,
            kms_key_arn=arn,
            make_current=not args.not_current,
            now=now,
        )
        print(index.to_json().decode("utf-8"))
    elif args.command == "trust-tsa":
        tsa = load_pem_certificates(args.cert.read_bytes())[0]
        print(publish_tsa(_store(args.bucket), args.prefix, tsa_cert=tsa, now=now).to_json().decode("utf-8"))
    elif args.command == "show":
        print(read_index(_store(args.bucket), args.prefix).to_json().decode("utf-8"))
    return 0
