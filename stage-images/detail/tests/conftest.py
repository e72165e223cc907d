"""Fixtures: tiny models built once per session, and a real local S3 (s3rver, as the local runtime
uses) for payloads over the inline budget."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
STAGE_DIR = HERE.parent
REPO = STAGE_DIR.parent.parent
S3RVER = REPO / "node_modules" / "s3rver" / "bin" / "s3rver.js"
BUCKET = "chat2svg-payloads-test"

sys.path[:0] = [str(STAGE_DIR), str(STAGE_DIR.parent / "worker")]


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("models")
    subprocess.run([str(STAGE_DIR / "tiny-models"), str(out)], check=True, capture_output=True)
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def s3_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    node = shutil.which("node")
    if not node or not S3RVER.is_file():
        pytest.skip("s3rver needs node and the repo's node_modules (npm ci)")
    port = _free_port()
    data = tmp_path_factory.mktemp("s3rver")
    proc = subprocess.Popen(
        [
            node,
            str(S3RVER),
            "-d",
            str(data),
            "-a",
            "127.0.0.1",
            "-p",
            str(port),
            "-s",
            "--configure-bucket",
            BUCKET,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                pytest.fail("s3rver did not start")
            time.sleep(0.1)
    env = {
        "AWS_ENDPOINT_URL_S3": f"http://127.0.0.1:{port}",
        "AWS_ACCESS_KEY_ID": "S3RVER",
        "AWS_SECRET_ACCESS_KEY": "S3RVER",
        "AWS_REGION": "us-east-1",
        "PAYLOAD_BUCKET": BUCKET,
    }
    try:
        yield env
    finally:
        proc.terminate()
        proc.wait(timeout=10)
