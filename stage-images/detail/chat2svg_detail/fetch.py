"""Fills MODEL_DIR with the pinned weights of models.json: from the Hugging Face Hub (at image build)
or from an S3 copy of a filled MODEL_DIR (at container start, `aws s3 sync MODEL_DIR s3://…` once)."""

from __future__ import annotations

import argparse
import json
import re
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from chat2svg_detail.models import MANIFEST, check_models, model_dir
from chat2svg_worker import ModelUnavailable

PINNED_MANIFEST = Path(__file__).resolve().parent.parent / MANIFEST
_COMMIT = re.compile(r"^[0-9a-f]{40}$")


def from_hub(manifest: dict[str, Any], dest: Path) -> None:
    from huggingface_hub import snapshot_download

    for name, entry in manifest["components"].items():
        if not entry.get("enabled", True):
            continue
        revision = entry.get("revision") or ""
        # A branch name would make the image depend on the day it was built.
        if not _COMMIT.match(revision):
            raise SystemExit(
                f"fetch-models: {name} ({entry['repo']}) must pin a 40-hex commit, got {revision!r}"
            )
        snapshot_download(
            repo_id=entry["repo"],
            revision=revision,
            allow_patterns=entry.get("allowPatterns"),
            local_dir=dest / entry["dir"],
        )
    stamped = {**manifest, "fetchedAt": datetime.now(UTC).isoformat(timespec="seconds"), "source": "hub"}
    (dest / MANIFEST).write_text(json.dumps(stamped, indent=2) + "\n")


def from_s3(uri: str, dest: Path) -> None:
    import boto3

    match = re.match(r"^s3://([^/]+)/?(.*)$", uri)
    if not match:
        raise SystemExit(f"fetch-models: not an s3:// URI: {uri}")
    bucket, prefix = match.group(1), match.group(2).rstrip("/")
    s3 = boto3.client("s3")
    count = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            relative = obj["Key"][len(prefix) :].lstrip("/")
            if not relative or relative.endswith("/"):
                continue
            target = dest / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            s3.download_file(bucket, obj["Key"], str(target))
            count += 1
    if count == 0:
        raise SystemExit(f"fetch-models: nothing under {uri}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fetch-models", description=__doc__)
    parser.add_argument("--dest", type=Path, default=None, help="model directory (default: $MODEL_DIR)")
    parser.add_argument("--manifest", type=Path, default=PINNED_MANIFEST, help="pinned models.json")
    parser.add_argument("--from-s3", metavar="S3_URI", help="copy a filled model directory from S3")
    parser.add_argument("--if-missing", action="store_true", help="do nothing when dest is complete")
    args = parser.parse_args(argv)
    dest: Path = args.dest or model_dir()
    if args.if_missing:
        try:
            check_models(dest)
            print(f"fetch-models: {dest} is complete", file=sys.stderr)
            return 0
        except ModelUnavailable:
            pass
    dest.mkdir(parents=True, exist_ok=True)
    if args.from_s3:
        from_s3(args.from_s3, dest)
    else:
        from_hub(json.loads(args.manifest.read_text()), dest)
    try:
        check_models(dest)
    except ModelUnavailable as exc:
        print(f"fetch-models: {exc.cause}", file=sys.stderr)
        return 1
    print(f"fetch-models: {dest} is complete", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
