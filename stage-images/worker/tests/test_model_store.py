"""The model store against a real s3rver: publish, fetch with sha256 checks, one download per host."""

import json
from pathlib import Path

import pytest
from worker_support import aws_env

from chat2svg_worker import ModelUnavailable
from chat2svg_worker.model_store import fetch, file_entries, publish, read_manifest

STORE = "s3://payloads/models/"


@pytest.fixture
def s3(s3rver: str, monkeypatch: pytest.MonkeyPatch):
    import boto3
    from botocore.config import Config

    for key, value in aws_env(s3=s3rver).items():
        monkeypatch.setenv(key, value)
    client = boto3.client("s3", config=Config(s3={"addressing_style": "path"}))
    downloads: list[str] = []
    download = client.download_file

    def counting_download(bucket: str, key: str, path: str) -> None:
        downloads.append(key)
        download(bucket, key, path)

    client.download_file = counting_download  # type: ignore[method-assign]
    client.downloads = downloads  # type: ignore[attr-defined]
    return client


def model_dir(root: Path) -> Path:
    (root / "sdxl" / "unet").mkdir(parents=True)
    (root / "models.json").write_text('{"components": {}}')
    (root / "sdxl" / "model_index.json").write_text("{}")
    (root / "sdxl" / "unet" / "weights.safetensors").write_bytes(bytes(range(256)) * 64)
    return root


def test_fetches_what_was_published_and_checks_every_file(s3, tmp_path: Path) -> None:
    source = model_dir(tmp_path / "src")
    manifest = publish(source, STORE, "detail-a", pins={"sdxl": {"revision": "abc"}}, client=s3)

    fetched = fetch(STORE, "detail-a", tmp_path / "cache", client=s3)

    assert file_entries(fetched) == manifest["files"]
    assert [f["path"] for f in manifest["files"]] == [
        "models.json",
        "sdxl/model_index.json",
        "sdxl/unet/weights.safetensors",
    ]
    assert read_manifest(STORE, "detail-a", client=s3)["pins"] == {"sdxl": {"revision": "abc"}}


def test_a_second_task_on_the_same_host_downloads_nothing(s3, tmp_path: Path) -> None:
    publish(model_dir(tmp_path / "src"), STORE, "detail-b", client=s3)
    first = fetch(STORE, "detail-b", tmp_path / "cache", client=s3)
    count = len(s3.downloads)

    second = fetch(STORE, "detail-b", tmp_path / "cache", client=s3)

    assert second == first
    assert count == 3 and len(s3.downloads) == count


def test_refuses_a_file_that_does_not_match_its_manifest(s3, tmp_path: Path) -> None:
    publish(model_dir(tmp_path / "src"), STORE, "detail-c", client=s3)
    s3.put_object(Bucket="payloads", Key="models/detail-c/sdxl/unet/weights.safetensors", Body=b"tampered")

    with pytest.raises(ModelUnavailable, match="does not match its manifest"):
        fetch(STORE, "detail-c", tmp_path / "cache", client=s3)
    assert not list((tmp_path / "cache" / "detail-c").iterdir())


def test_says_when_nothing_is_published(s3, tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailable, match="not published.*publish-models"):
        fetch(STORE, "nothing-here", tmp_path / "cache", client=s3)


def test_the_manifest_is_written_after_every_file(s3, tmp_path: Path) -> None:
    publish(model_dir(tmp_path / "src"), STORE, "detail-d", client=s3)
    objects = s3.list_objects_v2(Bucket="payloads", Prefix="models/detail-d/")["Contents"]
    manifest = next(o for o in objects if o["Key"].endswith("manifest.json"))

    assert all(o["LastModified"] <= manifest["LastModified"] for o in objects)
    assert json.loads(s3.get_object(Bucket="payloads", Key=manifest["Key"])["Body"].read())["stage"] == "detail-d"
