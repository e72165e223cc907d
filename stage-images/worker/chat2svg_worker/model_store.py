"""The model store (docs/architecture.md, "Model store"): pinned weights published once per environment
under s3://<bucket>/models/<stage>/, with manifest.json (each file's bytes and sha256) written last, so
a manifest means a complete publish. Workers fetch at start into a per-instance cache, check every
file's sha256, and reuse the cache when the manifest has not changed. Same layout as
functions/contracts/model-store.ts."""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from chat2svg_worker.errors import ModelUnavailable, Unavailable

MANIFEST = "manifest.json"
STORE_ENV = "MODEL_STORE_URI"
CACHE_ENV = "MODEL_CACHE_DIR"
DEFAULT_CACHE = "/var/cache/chat2svg/models"
_COMPLETE = ".complete"
_CHUNK = 1 << 20


def parse_uri(uri: str) -> tuple[str, str]:
    """`s3://bucket/models/` ⇒ (`bucket`, `models/`)."""
    match = re.match(r"^s3://([^/]+)/?(.*)$", uri)
    if not match:
        raise ModelUnavailable(f"model store {uri!r} is not an s3:// URI")
    prefix = match.group(2)
    return match.group(1), (prefix.rstrip("/") + "/") if prefix else ""


def _client() -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client("s3", config=Config(s3={"addressing_style": "path"}, retries={"mode": "standard"}))


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def file_entries(root: Path) -> list[dict[str, Any]]:
    """Every file under `root` (sorted, relative POSIX paths) with its bytes and sha256."""
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.name not in (MANIFEST, _COMPLETE))
    return [
        {"path": p.relative_to(root).as_posix(), "bytes": p.stat().st_size, "sha256": sha256_file(p)} for p in files
    ]


def publish(
    source: Path, store_uri: str, stage: str, *, pins: dict[str, Any] | None = None, client: Any = None
) -> dict[str, Any]:
    """Uploads `source` (a complete model directory) under <store>/<stage>/, then its manifest."""
    s3 = client or _client()
    bucket, prefix = parse_uri(store_uri)
    entries = file_entries(source)
    if not entries:
        raise ModelUnavailable(f"nothing to publish in {source}")
    for entry in entries:
        s3.upload_file(str(source / entry["path"]), bucket, f"{prefix}{stage}/{entry['path']}")
    manifest = {
        "schemaVersion": 1,
        "stage": stage,
        "publishedAt": datetime.now(UTC).isoformat(timespec="seconds"),
        "pins": pins or {},
        "files": entries,
    }
    # Last: a reader that finds the manifest finds every file it names.
    s3.put_object(
        Bucket=bucket,
        Key=f"{prefix}{stage}/{MANIFEST}",
        Body=json.dumps(manifest, indent=2).encode(),
        ContentType="application/json",
    )
    return manifest


def read_manifest(store_uri: str, stage: str, *, client: Any = None) -> dict[str, Any]:
    s3 = client or _client()
    bucket, prefix = parse_uri(store_uri)
    key = f"{prefix}{stage}/{MANIFEST}"
    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except Exception as exc:  # botocore raises many unrelated types
        code = getattr(exc, "response", {}).get("Error", {}).get("Code", "")
        if code in ("NoSuchKey", "404", "NoSuchBucket"):
            raise ModelUnavailable(
                f"{stage} models are not published: no s3://{bucket}/{key} (run scripts/publish-models)"
            ) from exc
        raise Unavailable(f"cannot read s3://{bucket}/{key}: {type(exc).__name__}: {exc}"[:1000]) from exc
    try:
        manifest = json.loads(body)
        manifest["files"]  # noqa: B018 - shape check
    except (ValueError, KeyError, TypeError) as exc:
        raise ModelUnavailable(f"s3://{bucket}/{key} is not a model store manifest: {exc}") from exc
    return manifest


@contextlib.contextmanager
def _host_lock(path: Path) -> Iterator[None]:
    # Tasks on one instance share the cache: the second waits for the first download, then reuses it.
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def fetch(store_uri: str, stage: str, cache_root: Path, *, client: Any = None) -> Path:
    """The local directory holding `stage`'s published models, downloaded and checked once per host
    and manifest. Raises Stage.ModelUnavailable when nothing is published or a file does not match."""
    s3 = client or _client()
    bucket, prefix = parse_uri(store_uri)
    manifest = read_manifest(store_uri, stage, client=s3)
    version = hashlib.sha256(json.dumps(manifest["files"], sort_keys=True).encode()).hexdigest()[:16]
    target = cache_root / stage / version
    with _host_lock(cache_root / f"{stage}.lock"):
        if (target / _COMPLETE).is_file():
            return target
        partial = target.with_name(f"{version}.partial")
        shutil.rmtree(partial, ignore_errors=True)
        for entry in manifest["files"]:
            path = partial / entry["path"]
            path.parent.mkdir(parents=True, exist_ok=True)
            s3.download_file(bucket, f"{prefix}{stage}/{entry['path']}", str(path))
            if path.stat().st_size != entry["bytes"] or sha256_file(path) != entry["sha256"]:
                shutil.rmtree(partial, ignore_errors=True)
                raise ModelUnavailable(f"{stage}/{entry['path']} in the model store does not match its manifest")
        shutil.rmtree(target, ignore_errors=True)
        partial.rename(target)
        (target / _COMPLETE).write_text(json.dumps({"publishedAt": manifest.get("publishedAt")}) + "\n")
        # Older versions are of no use once this one is complete.
        for old in (cache_root / stage).iterdir():
            if old != target:
                shutil.rmtree(old, ignore_errors=True)
    return target


def main(argv: list[str] | None = None) -> int:
    """`fetch --stage S [--store URI] [--cache DIR]`: prints the model directory for MODEL_DIR."""
    parser = argparse.ArgumentParser(prog="chat2svg_worker.model_store", description=main.__doc__)
    parser.add_argument("command", choices=["fetch"])
    parser.add_argument("--stage", required=True)
    parser.add_argument("--store", default=os.environ.get(STORE_ENV))
    parser.add_argument("--cache", type=Path, default=Path(os.environ.get(CACHE_ENV) or DEFAULT_CACHE))
    args = parser.parse_args(argv)
    if not args.store:
        print(f"model_store: no --store and no {STORE_ENV}", file=sys.stderr)
        return 3
    try:
        print(fetch(args.store, args.stage, args.cache))
    except ModelUnavailable as exc:
        print(json.dumps(exc.failure()), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
