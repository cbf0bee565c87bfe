"""Real object-store servers for the storage tests: moto's S3 in server mode (signatures checked) and
gcp-storage-emulator for Google Cloud Storage.

obstore speaks GCS's XML API. gcp-storage-emulator serves that API's GET and PUT but not HEAD, and
answers without the `ETag` and `Last-Modified` headers that real GCS sends; `GcsEmulator` adds those
three things and nothing else (the objects, ranges and errors are the emulator's own).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from datetime import datetime
from email.utils import format_datetime
from functools import partial
from http.server import HTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import boto3
import httpx
from gcp_storage_emulator import server as gcs_server  # type: ignore[import-untyped]
from gcp_storage_emulator.handlers import buckets  # type: ignore[import-untyped]
from gcp_storage_emulator.storage import Storage  # type: ignore[import-untyped]

from tests.gateway.conftest import free_port
from tests.support import wait_for


def _answers(url: str) -> bool:
    try:
        httpx.get(url, timeout=1)
    except httpx.HTTPError:
        return False
    return True


class MotoS3:
    """`moto_server` in a subprocess with request authentication on: an IAM user with S3 rights is made
    first (the server's first four actions go unauthenticated), and from then on every request must be
    signed with that user's key (a wrong secret gets 403 SignatureDoesNotMatch)."""

    bucket = "media-bucket"

    def __init__(self) -> None:
        self.url = f"http://127.0.0.1:{free_port()}"
        self.access_key = ""
        self.secret_key = ""
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> MotoS3:
        port = urlsplit(self.url).port
        env = dict(os.environ, INITIAL_NO_AUTH_ACTION_COUNT="4")
        moto_server = Path(sys.executable).with_name("moto_server")
        self.proc = subprocess.Popen(
            [str(moto_server), "-H", "127.0.0.1", "-p", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(lambda: _answers(self.url + "/moto-api/"), timeout=60, what="moto_server answers")
        anonymous: dict[str, Any] = {"aws_access_key_id": "setup", "aws_secret_access_key": "setup"}
        iam = boto3.client("iam", endpoint_url=self.url, region_name="us-east-1", **anonymous)
        iam.create_user(UserName="aether")
        key = iam.create_access_key(UserName="aether")["AccessKey"]
        policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
        iam.put_user_policy(UserName="aether", PolicyName="s3", PolicyDocument=json.dumps(policy))
        self.access_key, self.secret_key = key["AccessKeyId"], key["SecretAccessKey"]
        s3 = boto3.client(
            "s3",
            endpoint_url=self.url,
            region_name="us-east-1",
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
        )
        s3.create_bucket(Bucket=self.bucket)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=30)

    def env(self, *, secret: str | None = None) -> dict[str, str]:
        """obstore's AWS_* variables for this server; `secret` replaces the user's secret key."""
        return {
            "AWS_ENDPOINT": self.url,
            "AWS_ALLOW_HTTP": "true",
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": secret if secret is not None else self.secret_key,
            "AWS_REGION": "us-east-1",
        }


class _XmlApiHandler(gcs_server.RequestHandler):  # type: ignore[misc]
    """The emulator's handler plus HEAD and the ETag/Last-Modified headers of the XML API."""

    def end_headers(self) -> None:
        if not any(line.lower().startswith(b"etag:") for line in self._headers_buffer):
            bucket, _, name = urlsplit(self.path).path.lstrip("/").partition("/")
            try:
                obj = self.storage.get_file_obj(bucket, unquote(name))
            except Exception:  # the emulator's NotFound: a missing object has no ETag
                obj = None
            if obj:
                self.send_header("ETag", f'"{obj["md5Hash"]}"')
                updated = datetime.fromisoformat(obj["updated"].replace("Z", "+00:00"))
                self.send_header("Last-Modified", format_datetime(updated, usegmt=True))
        super().end_headers()

    def do_HEAD(self) -> None:
        real = self.wfile
        headers_sent = False

        class HeadersOnly:
            def write(self, data: bytes) -> int:
                if not headers_sent:
                    real.write(data)
                return len(data)

            def flush(self) -> None:
                real.flush()

        end_headers = self.end_headers

        def end_then_drop_body() -> None:
            nonlocal headers_sent
            end_headers()
            headers_sent = True

        self.wfile = HeadersOnly()
        self.end_headers = end_then_drop_body  # type: ignore[method-assign]
        try:
            gcs_server.Router(self).handle("GET")
        finally:
            self.wfile = real


class GcsEmulator:
    """gcp-storage-emulator in memory on a free port, with one bucket."""

    bucket = "media"

    def __init__(self) -> None:
        self.url = f"http://127.0.0.1:{free_port()}"
        storage = Storage(use_memory_fs=True)
        buckets.create_bucket(self.bucket, storage)
        self.storage = storage
        self.httpd = HTTPServer(("127.0.0.1", urlsplit(self.url).port or 0), partial(_XmlApiHandler, storage))
        self.thread: threading.Thread | None = None

    def __enter__(self) -> GcsEmulator:
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def env(self) -> dict[str, str]:
        """obstore's GOOGLE_* variables: a service-account key that points at the emulator, no OAuth."""
        key = {
            "gcs_base_url": self.url,
            "disable_oauth": True,
            "client_email": "",
            "private_key": "",
            "private_key_id": "",
        }
        return {"GOOGLE_SERVICE_ACCOUNT_KEY": json.dumps(key)}

    def object_bytes(self, name: str) -> bytes:
        return bytes(self.storage.get_file(self.bucket, name))
