"""S3 implementation of the BlobStore port."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from botocore.exceptions import ClientError

from onestop.errors import NotFound, ObjectExists, PayloadTooLarge
from onestop.materials.gate import QUARANTINE_PREFIX
from onestop.observability import traced
from onestop.ports import ObjectHead, PresignedPost, StoredObject

from .clients import client


class S3BlobStore:
    """One S3 bucket, seen through the BlobStore protocol."""

    def __init__(self, name: str, s3: Any | None = None) -> None:
        self.name = name
        self._s3 = s3

    @property
    def s3(self) -> Any:
        return self._s3 if self._s3 is not None else client("s3")

    @traced
    def put(
        self,
        key: str,
        body: bytes,
        content_type: str,
        metadata: Mapping[str, str] | None = None,
        if_absent: bool = False,
    ) -> str | None:
        kwargs: dict[str, Any] = {}
        if if_absent:
            kwargs["IfNoneMatch"] = "*"  # S3 conditional write: the first writer wins
        try:
            reply = self.s3.put_object(
                Bucket=self.name,
                Key=key,
                Body=body,
                ContentType=content_type,
                Metadata=dict(metadata or {}),
                **kwargs,
            )
        except ClientError as exc:
            if if_absent and exc.response["Error"]["Code"] in {
                "PreconditionFailed",
                "ConditionalRequestConflict",
            }:
                raise ObjectExists(
                    "object_exists",
                    "该位置已有文件。",
                    "A file already exists at this location.",
                    extra={"key": key},
                ) from exc
            raise
        return reply.get("VersionId")

    @traced
    def get(self, key: str, version_id: str | None = None, max_bytes: int | None = None) -> StoredObject:
        kwargs: dict[str, Any] = {"Bucket": self.name, "Key": key}
        if version_id:
            kwargs["VersionId"] = version_id
        try:
            reply = self.s3.get_object(**kwargs)
        except ClientError as exc:
            if exc.response["Error"]["Code"] in {"NoSuchKey", "NoSuchVersion", "404"}:
                raise NotFound("object_not_found", "文件不存在。", "The file does not exist.") from exc
            raise
        size = int(reply.get("ContentLength", 0))
        if max_bytes is not None and size > max_bytes:
            reply["Body"].close()
            raise PayloadTooLarge(
                "file_too_large",
                f"文件大小 {size} 字节，超过上限 {max_bytes} 字节。",
                f"The file is {size} bytes, over the limit of {max_bytes} bytes.",
            )
        body = reply["Body"].read() if max_bytes is None else reply["Body"].read(max_bytes + 1)
        return StoredObject(
            key=key,
            body=body,
            content_type=reply.get("ContentType"),
            version_id=reply.get("VersionId"),
            etag=(reply.get("ETag") or "").strip('"') or None,
            metadata=reply.get("Metadata", {}),
        )

    @traced
    def head(self, key: str, version_id: str | None = None) -> ObjectHead | None:
        kwargs: dict[str, Any] = {"Bucket": self.name, "Key": key}
        if version_id:
            kwargs["VersionId"] = version_id
        try:
            reply = self.s3.head_object(**kwargs)
        except ClientError as exc:
            if exc.response["Error"]["Code"] in {"404", "NoSuchKey", "NotFound", "NoSuchVersion"}:
                return None
            raise
        return ObjectHead(
            key=key,
            size=int(reply.get("ContentLength", 0)),
            content_type=reply.get("ContentType"),
            version_id=reply.get("VersionId"),
            etag=(reply.get("ETag") or "").strip('"') or None,
            metadata=reply.get("Metadata", {}),
        )

    @traced
    def quarantine(self, key: str, version_id: str | None, reason_code: str) -> str | None:
        """Move `key@version_id` to `quarantine/<key>` (tagged with why; the bucket's lifecycle expires
        it), then delete that version: ingest never sees it again and the evidence version, if any,
        stays the current one. None when the version is already gone."""
        target = QUARANTINE_PREFIX + key
        source: dict[str, str] = {"Bucket": self.name, "Key": key}
        if version_id:
            source["VersionId"] = version_id
        try:
            self.s3.copy_object(
                Bucket=self.name,
                Key=target,
                CopySource=source,
                MetadataDirective="COPY",
                TaggingDirective="REPLACE",
                Tagging=urlencode({"refused": reason_code, "source-version": version_id or ""}),
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] in {"NoSuchKey", "NoSuchVersion", "404"}:
                return None
            raise
        if version_id:
            self.s3.delete_object(Bucket=self.name, Key=key, VersionId=version_id)
        else:  # an unversioned bucket: the object itself
            self.s3.delete_object(Bucket=self.name, Key=key)
        return target

    def presign_post(
        self,
        key: str,
        content_type: str,
        max_bytes: int,
        expires_in: int,
        metadata: Mapping[str, str] | None = None,
    ) -> PresignedPost:
        # Every condition an exact match, so the ticket admits only what it was issued for: this type,
        # 1..max_bytes, this metadata; boto3 adds {"bucket": …} and {"key": key} (exact, as the key has
        # no ${filename}). S3 refuses any other form field (tests/security/test_upload_policy.py).
        fields: dict[str, str] = {"Content-Type": content_type}
        conditions: list[Any] = [
            {"Content-Type": content_type},
            ["content-length-range", 1, max_bytes],
        ]
        for name, value in (metadata or {}).items():
            fields[f"x-amz-meta-{name}"] = value
            conditions.append({f"x-amz-meta-{name}": value})
        reply = self.s3.generate_presigned_post(
            Bucket=self.name, Key=key, Fields=fields, Conditions=conditions, ExpiresIn=expires_in
        )
        return PresignedPost(url=reply["url"], fields=reply["fields"], expires_in=expires_in)

    def presign_get(
        self, key: str, expires_in: int, version_id: str | None = None, download_as: str | None = None
    ) -> str:
        params: dict[str, Any] = {"Bucket": self.name, "Key": key}
        if version_id:
            params["VersionId"] = version_id
        if download_as:
            # The browser saves the file under this name instead of opening it in place.
            params["ResponseContentDisposition"] = f'attachment; filename="{download_as}"'

        url: str = self.s3.generate_presigned_url("get_object", Params=params, ExpiresIn=expires_in)
        return url
