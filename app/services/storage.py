"""Stored images, with names the user never chooses: a local folder (UPLOAD_DIR) by default, or an
S3-compatible bucket (Tencent COS, MinIO, AWS S3) when S3_BUCKET is set, so that several app servers
share them.

A file is written completely (temp file + rename, or one PUT) before the database row that owns it
commits, so a crash can never leave a record without its file; a crash between the two leaves a
file no row owns, which `sweep_orphans` (run by `flask purge`) removes once it is old enough.
Both backends lay keys out alike (`ab/ab12…`), so a folder can be copied into a bucket as it is.
"""

from __future__ import annotations

import base64
import errno
import hashlib
import logging
import os
import re
import secrets
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO

from flask import Flask, current_app

from app.errors import DomainError, NotFound, ServiceUnavailable

log = logging.getLogger(__name__)

KEY_PATTERN = re.compile(r"[0-9a-f]{32}")


class StorageFull(DomainError):
    status, code, message = 507, "storage_full", "存储空间不足，请稍后再试"


class StorageUnavailable(ServiceUnavailable):
    """The store cannot be reached or refuses us; the client may retry. `reason` is for operators only."""

    def __init__(self, reason: str):
        super().__init__()
        self.reason = reason


def _new_key() -> str:
    return secrets.token_hex(16)  # 128 random bits: unguessable, never chosen by the user


def _checked(key: str) -> str:
    if not KEY_PATTERN.fullmatch(key):
        raise NotFound()
    return key


class LocalStorage:
    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        key = _checked(key)
        return self.root / key[:2] / key

    def save(self, data: bytes) -> str:
        key = _new_key()
        path = self._path(key)
        temp = self.root / ".incoming" / f"{key}.part"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            temp.parent.mkdir(parents=True, exist_ok=True)
            with open(temp, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, path)
        except OSError as exc:
            temp.unlink(missing_ok=True)
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise StorageFull() from exc
            raise
        return key

    def open(self, key: str) -> IO[bytes]:
        try:
            return open(self._path(key), "rb")
        except FileNotFoundError:
            raise NotFound() from None

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def keys_older_than(self, seconds: float) -> Iterable[str]:
        cutoff = time.time() - seconds
        for folder in self.root.glob("[0-9a-f][0-9a-f]"):
            for path in folder.iterdir():
                if path.stat().st_mtime < cutoff:
                    yield path.name
        for temp in (self.root / ".incoming").glob("*.part"):
            if temp.stat().st_mtime < cutoff:
                temp.unlink(missing_ok=True)

    def check(self) -> None:
        """Raise StorageUnavailable unless a file can be written here."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=self.root, prefix=".ready-") as probe:
                probe.write(b"ok")
                probe.flush()
        except OSError as exc:
            raise StorageUnavailable(exc.strerror or type(exc).__name__) from exc


class S3Storage:
    """Objects `{prefix}ab/ab12…` in one bucket. A PUT is atomic: an object appears whole or not at all."""

    def __init__(self, client, bucket: str, prefix: str = "", page_size: int = 1000):
        self.client, self.bucket, self.prefix, self.page_size = client, bucket, prefix, page_size

    def _name(self, key: str) -> str:
        key = _checked(key)
        return f"{self.prefix}{key[:2]}/{key}"

    def save(self, data: bytes) -> str:
        key = _new_key()
        # Content-MD5 lets the server refuse a body damaged on the way; every S3-compatible server honours it.
        md5 = base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode()
        with self._errors_mapped("save"):
            self.client.put_object(Bucket=self.bucket, Key=self._name(key), Body=data, ContentMD5=md5)
        return key

    def open(self, key: str) -> IO[bytes]:
        """The object's body, streamed from the bucket as it is read."""
        name = self._name(key)
        with self._errors_mapped("open"):
            return self.client.get_object(Bucket=self.bucket, Key=name)["Body"]

    def delete(self, key: str) -> None:
        name = self._name(key)
        with self._errors_mapped("delete"):
            self.client.delete_object(Bucket=self.bucket, Key=name)  # a missing object is no error

    def keys_older_than(self, seconds: float) -> Iterator[str]:
        """Keys whose object was last modified more than `seconds` ago, listed a page at a time."""
        cutoff = datetime.now(UTC) - timedelta(seconds=seconds)
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.prefix, PaginationConfig={"PageSize": self.page_size})
        with self._errors_mapped("list"):
            for page in pages:
                for item in page.get("Contents", ()):
                    folder, _, key = item["Key"][len(self.prefix):].partition("/")
                    # Other areas (covers/, rewards/) share the prefix: only `ab/ab12…` names are ours.
                    if KEY_PATTERN.fullmatch(key) and folder == key[:2] and item["LastModified"] < cutoff:
                        yield key

    def check(self) -> None:
        """Raise StorageUnavailable unless the bucket exists and these credentials may use it."""
        with self._errors_mapped("check"):
            self.client.head_bucket(Bucket=self.bucket)

    @contextmanager
    def _errors_mapped(self, action: str):
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            yield
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code") or "ClientError"
            if action == "open" and code in ("NoSuchKey", "404"):
                raise NotFound() from None
            if action == "check" and code in ("404", "NoSuchBucket"):
                code = "NoSuchBucket"  # HEAD answers have no body, only the status
            log.warning("S3 %s in bucket %s failed: %s", action, self.bucket, code)
            raise StorageUnavailable(code) from exc
        except BotoCoreError as exc:  # connection refused or timed out, bad endpoint, no credentials
            log.warning("S3 %s in bucket %s failed: %s", action, self.bucket, exc)
            raise StorageUnavailable(type(exc).__name__) from exc


def storage(area: str = "") -> LocalStorage | S3Storage:
    """The configured store. `area` keeps other images (e.g. "covers") apart from the photos, whose
    orphans `flask purge` sweeps: a subfolder of UPLOAD_DIR, or a sub-prefix in the bucket."""
    config = current_app.config
    if not config.get("S3_BUCKET"):
        return LocalStorage(Path(config["UPLOAD_DIR"]) / area)
    prefix = "".join(f"{part.strip('/')}/" for part in (config.get("S3_PREFIX") or "", area) if part.strip("/"))
    return S3Storage(_s3_client(current_app), config["S3_BUCKET"], prefix)


_client_lock = threading.Lock()
_session = None


def _s3_client(app: Flask):
    """One client per app: boto3 clients are thread-safe and slow to build, sessions are neither."""
    with _client_lock:
        if "s3_client" not in app.extensions:
            app.extensions["s3_client"] = _new_s3_client(app.config)
        return app.extensions["s3_client"]


def _new_s3_client(config):
    import boto3
    from botocore.config import Config as BotoConfig

    global _session
    _session = _session or boto3.session.Session()  # shared, so its parsed API models are too

    connect, read = config["S3_TIMEOUT"]
    options = BotoConfig(
        region_name=config.get("S3_REGION") or None,
        signature_version="s3v4",
        s3={"addressing_style": (config.get("S3_ADDRESSING_STYLE") or "virtual").lower()},
        connect_timeout=connect, read_timeout=read,
        # One retry: an unreachable bucket must answer 503 in seconds, not hold a worker.
        retries={"mode": "standard", "total_max_attempts": 2},
        # Checksums only where the API requires them: several S3-compatible servers refuse the CRC
        # headers newer boto3 adds by default; Content-MD5 guards our uploads instead.
        request_checksum_calculation="when_required", response_checksum_validation="when_required",
    )
    return _session.client(
        "s3", endpoint_url=config.get("S3_ENDPOINT_URL") or None,
        aws_access_key_id=config.get("S3_ACCESS_KEY_ID") or None,
        aws_secret_access_key=config.get("S3_SECRET_ACCESS_KEY") or None, config=options)
