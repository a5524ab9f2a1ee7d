"""Blobs on disk and CloudFront-style signed, expiring URLs to them (§6.2, §6.3).

A signed URL is `<storage origin>/<key>?Expires=<unix time>&Signature=<s>&Key-Pair-Id=<id>`,
where `s` is an HMAC-SHA256 over the key and the expiry with a secret kept in the data
directory (so signatures survive restarts), base64-encoded with CloudFront's URL-safe alphabet.
"""

from __future__ import annotations

import base64
import calendar
import contextlib
import functools
import hashlib
import hmac
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import quote, urlencode

from gcfetch.sandbox.settings import SandboxSettings

_SECRET_FILE = "storage-secret"
_CLOUDFRONT_ALPHABET = bytes.maketrans(b"+=/", b"-_~")


@dataclass(frozen=True)
class UrlSigner:
    """Signs and checks storage URLs for one sandbox."""

    secret: bytes
    lifetime: int

    @property
    def key_pair_id(self) -> str:
        return "APKA" + hashlib.sha256(self.secret).hexdigest()[:16].upper()

    def signature(self, key: str, expires: int) -> str:
        digest = hmac.new(self.secret, f"{key}\n{expires}".encode(), hashlib.sha256).digest()
        return base64.b64encode(digest).translate(_CLOUDFRONT_ALPHABET).decode()

    def url(self, origin: str, key: str, *, now: float | None = None) -> str:
        """The signed URL of `key` on `origin`, valid for `lifetime` seconds from `now`."""
        expires = int(now if now is not None else time.time()) + self.lifetime
        query = urlencode(
            {
                "Expires": expires,
                "Signature": self.signature(key, expires),
                "Key-Pair-Id": self.key_pair_id,
            }
        )
        return f"{origin}/{quote(key, safe='/')}?{query}"

    def verify(
        self,
        key: str,
        expires: str | None,
        signature: str | None,
        key_pair_id: str | None,
        *,
        now: float | None = None,
    ) -> bool:
        """Whether the query parameters sign `key` and have not expired."""
        if not (expires and signature and key_pair_id) or not expires.isdigit():
            return False
        if key_pair_id != self.key_pair_id:
            return False
        if int(expires) < (now if now is not None else time.time()):
            return False
        return hmac.compare_digest(signature, self.signature(key, int(expires)))


@dataclass(frozen=True)
class DicomRequest:
    """A DICOM instance request on the storage origin, signed in headers as AWS SigV4 signs
    GC's HealthImaging requests: `Accept`, `X-Amz-Date` and an `Authorization` whose signature
    covers the method, path, query and the `accept`, `host` and `x-amz-date` headers.

    Not real SigV4 (the sandbox's secret, a plain HMAC), the same shape and the same rules:
    every signed header must be sent unchanged, and it expires `lifetime` seconds after
    `X-Amz-Date`.
    """

    signer: UrlSigner
    region: str = "sandbox"
    service: str = "medical-imaging"

    def _signature(self, method: str, path: str, query: str, headers: dict[str, str]) -> str:
        canonical = "\n".join(
            [method, path, query, *(f"{name}:{headers[name]}" for name in _DICOM_SIGNED)]
        )
        return hmac.new(self.signer.secret, canonical.encode(), hashlib.sha256).hexdigest()

    def headers(
        self, method: str, host: str, path: str, query: str, accept: str, *, now: float | None
    ) -> dict[str, str]:
        """The request's headers, in the order GC sends them: Accept, X-Amz-Date, Authorization."""
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now))
        signed = {"accept": accept, "host": host, "x-amz-date": stamp}
        credential = f"{self.signer.key_pair_id}/{stamp[:8]}/{self.region}/{self.service}"
        authorization = (
            f"AWS4-HMAC-SHA256 Credential={credential}/aws4_request, "
            f"SignedHeaders={';'.join(_DICOM_SIGNED)}, "
            f"Signature={self._signature(method, path, query, signed)}"
        )
        return {"Accept": accept, "X-Amz-Date": stamp, "Authorization": authorization}

    def verify(
        self,
        method: str,
        path: str,
        query: str,
        headers: dict[str, str],
        *,
        now: float | None = None,
    ) -> str | None:
        """None if `headers` (lowercase names) sign the request; else why not."""
        authorization = headers.get("authorization", "")
        if not authorization.startswith("AWS4-HMAC-SHA256 "):
            return "Authorization header requires the AWS4-HMAC-SHA256 scheme."
        if any(name not in headers for name in _DICOM_SIGNED):
            return "Authorization header requires the signed headers accept;host;x-amz-date."
        try:
            stamp = time.strptime(headers["x-amz-date"], "%Y%m%dT%H%M%SZ")
        except ValueError:
            return "X-Amz-Date is not a valid date."
        now = now if now is not None else time.time()
        if calendar.timegm(stamp) + self.signer.lifetime < now:
            return "Signature expired."
        signature = authorization.rsplit("Signature=", 1)[-1]
        expected = self._signature(method, path, query, headers)
        if not hmac.compare_digest(signature, expected):
            return "The request signature we calculated does not match the signature you provided."
        return None


_DICOM_SIGNED = ("accept", "host", "x-amz-date")
DICOM_DATASTORE = "sandbox"


def dicom_instance_path(study: str, series: str, sop: str) -> str:
    """The storage origin path of a DICOM instance (HealthImaging's DICOMweb retrieve path)."""
    return f"/datastore/{DICOM_DATASTORE}/studies/{study}/series/{series}/instances/{sop}"


def dicom_instance_key(image_set_id: str, sop_instance_uid: str) -> str:
    """The storage key of a DICOM instance's file: `dicom/<image set id>/<sop uid>.dcm`."""
    return f"dicom/{image_set_id}/{sop_instance_uid}.dcm"


@functools.lru_cache(maxsize=64)
def signer_for(settings: SandboxSettings) -> UrlSigner:
    """The signer of the sandbox whose data directory `settings` names (read once, then cached)."""
    return UrlSigner(_secret(settings.data_dir.resolve()), settings.link_lifetime)


@functools.cache
def _secret(data_dir: Path) -> bytes:
    """Read the sandbox's signing secret, creating it on first use."""
    path = data_dir / _SECRET_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        scratch = data_dir / f".{_SECRET_FILE}.{os.getpid()}.{uuid.uuid4().hex}"
        scratch.write_text(os.urandom(32).hex())
        with contextlib.suppress(FileExistsError):  # another process was first: use theirs
            os.link(scratch, path)
        scratch.unlink()
    return bytes.fromhex(path.read_text().strip())


def value_file_key(value_pk: int, filename: str) -> str:
    """The storage key of a socket value's file: `components/componentinterfacevalue/aa/bb/...`.

    `aa`/`bb` are the second-to-last and last pairs of the pk in lowercase hex, zero-padded to
    at least four digits (§5.6): pk 42 -> `00/2a`, pk 1234567 -> `d6/87`.
    """
    digits = f"{value_pk:04x}"
    return f"components/componentinterfacevalue/{digits[-4:-2]}/{digits[-2:]}/{value_pk}/{filename}"


def image_file_key(image_pk: str, file_pk: str, filename: str) -> str:
    """The storage key of an image file: `images/<aa>/<bb>/<image pk>/<file pk>/<name>`."""
    return f"images/{image_pk[0:2]}/{image_pk[2:4]}/{image_pk}/{file_pk}/{filename}"


def blob_path(settings: SandboxSettings, key: str) -> Path | None:
    """The file holding `key`, or None if the key is unsafe or no such file exists."""
    parts = PurePosixPath(key).parts
    if not parts or key.startswith("/") or any(p in ("..", ".", "") for p in parts):
        return None
    path = settings.blob_dir.joinpath(*parts)
    return path if path.is_file() else None
