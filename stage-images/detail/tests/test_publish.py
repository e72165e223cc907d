"""Publishing the detail weights to a model store and fetching them back as a complete MODEL_DIR."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest

from chat2svg_detail.fetch import git_blob_id, verify_against_hub
from chat2svg_detail.models import check_models
from chat2svg_worker.model_store import fetch

REPO = Path(__file__).resolve().parents[3]
BUCKET = "chat2svg-payloads-test"  # the bucket conftest's s3rver creates


def test_checks_downloads_against_the_hub_hashes(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "model.safetensors").write_bytes(b"weights")
    siblings = [
        SimpleNamespace(rfilename="config.json", blob_id=git_blob_id(tmp_path / "config.json"), lfs=None),
        SimpleNamespace(
            rfilename="model.safetensors",
            blob_id="unused",
            lfs=SimpleNamespace(sha256=hashlib.sha256(b"weights").hexdigest()),
        ),
        SimpleNamespace(rfilename="not-downloaded.bin", blob_id="x", lfs=None),
    ]

    assert verify_against_hub(siblings, tmp_path) == 2

    (tmp_path / "model.safetensors").write_bytes(b"tampered")
    with pytest.raises(SystemExit, match="does not match the Hub"):
        verify_against_hub(siblings, tmp_path)


def test_the_git_blob_id_is_git_hash_object(tmp_path: Path) -> None:
    path = tmp_path / "f.txt"
    path.write_text("hello\n")
    assert git_blob_id(path) == "ce013625030ba8dba906f756967f9e9ca394464a"


def test_publish_models_then_fetch_gives_a_complete_model_dir(
    tiny_models: Path, s3_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = f"s3://{BUCKET}/models/"
    env = {**s3_env, "AWS_EC2_METADATA_DISABLED": "true"}
    done = subprocess.run(
        [str(REPO / "scripts" / "publish-models"), "--store", store, "--from-dir", str(tiny_models)],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "published to" in done.stderr

    for key, value in env.items():
        monkeypatch.setenv(key, value)
    fetched = fetch(store, "detail", tmp_path / "cache")

    assert check_models(fetched).tiny
