"""Fills MODEL_DIR with the pinned weights of models.json from the Hugging Face Hub, checking every file
against the Hub's own hashes (sha256 of LFS files, the git blob id of the others), and publishes a filled
MODEL_DIR to an environment's model store (`scripts/publish-models --env dev`), where GPU workers fetch
it at start (chat2svg_worker.model_store)."""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from chat2svg_detail.models import MANIFEST, PINNED_MANIFEST, check_models, model_dir
from chat2svg_worker import ModelUnavailable
from chat2svg_worker.model_store import publish, sha256_file

STAGE = "detail"
_COMMIT = re.compile(r"^[0-9a-f]{40}$")


def git_blob_id(path: Path) -> str:
    """The git object id of a file, which the Hub reports for files not stored in LFS."""
    data = path.read_bytes()
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def verify_against_hub(siblings: list[Any], root: Path) -> int:
    """Checks each downloaded file under `root` against the Hub's metadata; returns how many it checked."""
    checked = 0
    for sibling in siblings:
        path = root / sibling.rfilename
        if not path.is_file():
            continue  # not matched by allowPatterns
        lfs = getattr(sibling, "lfs", None)
        expected, actual = (lfs.sha256, sha256_file(path)) if lfs else (sibling.blob_id, git_blob_id(path))
        if expected != actual:
            raise SystemExit(f"fetch-models: {path} does not match the Hub ({actual} != {expected})")
        checked += 1
    return checked


def from_hub(manifest: dict[str, Any], dest: Path) -> None:
    from huggingface_hub import HfApi, snapshot_download

    api = HfApi()
    for name, entry in manifest["components"].items():
        if not entry.get("enabled", True):
            continue
        revision = entry.get("revision") or ""
        # A branch name would make the image depend on the day it was built.
        if not _COMMIT.match(revision):
            raise SystemExit(
                f"fetch-models: {name} ({entry['repo']}) must pin a 40-hex commit, got {revision!r}"
            )
        local = dest / entry["dir"]
        snapshot_download(
            repo_id=entry["repo"],
            revision=revision,
            allow_patterns=entry.get("allowPatterns"),
            local_dir=local,
        )
        info = api.model_info(entry["repo"], revision=revision, files_metadata=True)
        if verify_against_hub(list(info.siblings or []), local) == 0:
            raise SystemExit(f"fetch-models: nothing of {entry['repo']} was downloaded")
    stamped = {**manifest, "fetchedAt": datetime.now(UTC).isoformat(timespec="seconds"), "source": "hub"}
    (dest / MANIFEST).write_text(json.dumps(stamped, indent=2) + "\n")


def store_for_env(env: str) -> str:
    """The model store of a deployed environment, from its stack's ModelStoreBucketName output."""
    import boto3

    stack = f"Chat2Svg-{env}"
    outputs = boto3.client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0].get("Outputs", [])
    bucket = next((o["OutputValue"] for o in outputs if o["OutputKey"] == "ModelStoreBucketName"), None)
    if not bucket:
        raise SystemExit(f"publish-models: stack {stack} has no ModelStoreBucketName output; deploy it first")
    return f"s3://{bucket}/models/"


def publish_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="publish-models", description="Publish the pinned weights to a model store."
    )
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--env", help="deployed environment (dev, staging, prod): its stack names the store")
    target.add_argument("--store", help="s3://bucket/models/ directly")
    parser.add_argument(
        "--from-dir", type=Path, help="a complete MODEL_DIR instead of downloading from the Hub"
    )
    parser.add_argument("--manifest", type=Path, default=PINNED_MANIFEST, help="pinned models.json")
    args = parser.parse_args(argv)
    store = args.store or store_for_env(args.env)
    pins = json.loads(args.manifest.read_text())["components"]
    with tempfile.TemporaryDirectory(prefix="chat2svg-models-") as staging:
        source = args.from_dir
        if source is None:
            source = Path(staging)
            from_hub(json.loads(args.manifest.read_text()), source)
        try:
            check_models(source)
        except ModelUnavailable as exc:
            print(f"publish-models: {exc.cause}", file=sys.stderr)
            return 1
        manifest = publish(source, store, STAGE, pins=pins)
    print(
        f"publish-models: {len(manifest['files'])} files of {STAGE} published to {store}{STAGE}/",
        file=sys.stderr,
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["publish"]:
        return publish_main(argv[1:])
    parser = argparse.ArgumentParser(prog="fetch-models", description=__doc__)
    parser.add_argument("--dest", type=Path, default=None, help="model directory (default: $MODEL_DIR)")
    parser.add_argument("--manifest", type=Path, default=PINNED_MANIFEST, help="pinned models.json")
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
