"""A real S3-compatible server for the storage tests: moto's standalone server in a process of its own,
spoken to over HTTP on a free local port, exactly as the app speaks to Tencent COS or MinIO."""

from __future__ import annotations

import functools
import socket
import subprocess
import sys
import time

import boto3
from botocore.config import Config as BotoConfig

REGION = "us-east-1"
CREDENTIALS = {"aws_access_key_id": "test-key-id", "aws_secret_access_key": "test-secret-key"}


def s3_settings(endpoint: str, bucket: str) -> dict[str, str]:
    """The app's settings for a bucket on that server."""
    return {"S3_BUCKET": bucket, "S3_ENDPOINT_URL": endpoint, "S3_REGION": REGION,
            "S3_ACCESS_KEY_ID": CREDENTIALS["aws_access_key_id"],
            "S3_SECRET_ACCESS_KEY": CREDENTIALS["aws_secret_access_key"], "S3_ADDRESSING_STYLE": "path"}


@functools.cache
def bucket_client(endpoint: str):
    """A client of the tests' own, to look into the bucket without going through the app."""
    return boto3.session.Session().client("s3", endpoint_url=endpoint, region_name=REGION,
                                          config=BotoConfig(s3={"addressing_style": "path"}), **CREDENTIALS)


def object_names(app) -> list[str]:
    """Every object in the app's bucket, by its full name."""
    client = bucket_client(app.config["S3_ENDPOINT_URL"])
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=app.config["S3_BUCKET"])
    return sorted(item["Key"] for page in pages for item in page.get("Contents", ()))


def empty_bucket(client, bucket: str) -> None:
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", ()):
            client.delete_object(Bucket=bucket, Key=item["Key"])


class S3Server:
    """`with S3Server() as endpoint:` runs `python -m moto.server` on a free port until the block ends."""

    def __enter__(self) -> str:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        self.process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.process.kill()
                    raise RuntimeError(f"moto.server did not start on port {port}") from None
                time.sleep(0.05)
        return f"http://127.0.0.1:{port}"

    def __exit__(self, *exc) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
