"""Object storage (S3 API through the minio SDK): MinIO in containers, SeaweedFS locally.

Attachments live here, never in the database or on the broker. The provider builds the
client once from config; each worker gets an ``ObjectStoreAccess`` with the few methods
services need. The bucket is created on first use if it is missing.
"""

from __future__ import annotations

import io
import os
from datetime import timedelta

import certifi
import eventlet
import urllib3
from minio import Minio
from minio.error import S3Error
from nameko import config
from nameko.extensions import DependencyProvider

PING_TIMEOUT_SECONDS = 1.5


class StorageUnavailable(ConnectionError):
    """The object store did not answer a ping in time (an outage, not the caller's fault)."""


def make_client(endpoint: str, access_key: str, secret_key: str, secure: bool = False) -> Minio:
    return Minio(endpoint, access_key=access_key, secret_key=secret_key, secure=secure)


def make_ping_client(
    endpoint: str,
    access_key: str,
    secret_key: str,
    secure: bool = False,
    timeout: float = PING_TIMEOUT_SECONDS,
) -> Minio:
    """A client for health checks: the default one waits up to 5 minutes per request and
    retries 5 times, so a ping of a store that hangs would hang /ready with it."""
    http = urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=timeout, read=timeout),
        retries=False,
        maxsize=2,
        cert_reqs="CERT_REQUIRED" if secure else "CERT_NONE",
        ca_certs=os.environ.get("SSL_CERT_FILE") or certifi.where(),
    )
    return Minio(endpoint, access_key=access_key, secret_key=secret_key, secure=secure, http_client=http)


class ObjectStoreAccess:
    def __init__(self, client: Minio, bucket: str, provider=None):
        self.client = client
        self.bucket = bucket
        self._provider = provider

    def ensure_bucket(self) -> None:
        if self._provider is not None and self._provider.bucket_ready:
            return
        if not self.client.bucket_exists(self.bucket):
            try:
                self.client.make_bucket(self.bucket)
            except S3Error as exc:  # another instance created it in between
                if exc.code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                    raise
        if self._provider is not None:
            self._provider.bucket_ready = True

    def put(self, key: str, data: bytes, content_type: str, metadata: dict | None = None) -> None:
        self.ensure_bucket()
        self.client.put_object(
            self.bucket, key, io.BytesIO(data), len(data), content_type=content_type, metadata=metadata
        )

    def get(self, key: str) -> bytes:
        response = self.client.get_object(self.bucket, key)
        try:
            return response.read()
        finally:
            response.close()
            response.release_conn()

    def exists(self, key: str) -> bool:
        try:
            self.client.stat_object(self.bucket, key)
            return True
        except S3Error as exc:
            if exc.code in ("NoSuchKey", "NoSuchBucket", "NoSuchObject"):
                return False
            raise

    def delete(self, key: str) -> None:
        self.client.remove_object(self.bucket, key)

    def download_url(self, key: str, expires: timedelta = timedelta(minutes=5)) -> str:
        """A presigned GET on the configured (internal) endpoint: for server-side use only."""
        return self.client.presigned_get_object(self.bucket, key, expires=expires)

    def ping(self, timeout: float = PING_TIMEOUT_SECONDS) -> None:
        """Raise unless the store answers within about ``timeout`` seconds."""
        client = getattr(self._provider, "ping_client", None) or self.client
        # the client's own timeouts bound each socket wait; this bounds the whole call
        # (a region look-up and the HEAD) where eventlet runs, as in every service
        with eventlet.Timeout(2 * timeout, StorageUnavailable(f"nessuna risposta entro {2 * timeout:.1f} s")):
            client.bucket_exists(self.bucket)


class ObjectStore(DependencyProvider):
    def __init__(self, bucket_key: str = "S3_BUCKET"):
        self.bucket_key = bucket_key
        self.bucket_ready = False

    def setup(self):
        self.client = make_client(
            config["S3_ENDPOINT"],
            config["S3_ACCESS_KEY"],
            config["S3_SECRET_KEY"],
            secure=bool(config.get("S3_SECURE", False)),
        )
        self.ping_client = make_ping_client(
            config["S3_ENDPOINT"],
            config["S3_ACCESS_KEY"],
            config["S3_SECRET_KEY"],
            secure=bool(config.get("S3_SECURE", False)),
        )
        self.bucket = config[self.bucket_key]

    def get_dependency(self, worker_ctx):
        return ObjectStoreAccess(self.client, self.bucket, provider=self)
