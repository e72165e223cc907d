"""Helpers for the worker tests: a fake Step Functions endpoint and a real s3rver on loopback."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).parent
REPO = HERE.parents[2]
ECHO_STAGE = HERE / "echo_stage.py"


class FakeStepFunctions:
    """Records the Step Functions JSON-protocol calls boto3 makes; serves queued activity tasks."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.activity_tasks: list[dict[str, str]] = []
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server naming
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])) or b"{}")
                action = self.headers.get("X-Amz-Target", "").split(".")[-1]
                with fake.lock:
                    fake.calls.append((action, body))
                    reply: dict[str, Any] = {}
                    if action == "GetActivityTask":
                        reply = fake.activity_tasks.pop(0) if fake.activity_tasks else {}
                data = json.dumps(reply).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-amz-json-1.0")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def actions(self) -> list[str]:
        with self.lock:
            return [a for a, _ in self.calls]

    def last(self, action: str) -> dict[str, Any]:
        with self.lock:
            return [b for a, b in self.calls if a == action][-1]


class FakeAwsJson:
    """A loopback endpoint for an AWS JSON-protocol service: records each call, answers from `reply`."""

    def __init__(self, reply: Any) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server naming
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])) or b"{}")
                action = self.headers.get("X-Amz-Target", "").split(".")[-1]
                with fake.lock:
                    fake.calls.append((action, body))
                    answer = reply(action, body)
                data = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-amz-json-1.0")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_PUT(self) -> None:  # noqa: N802 - the ECS agent's task-protection endpoint
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])) or b"{}")
                with fake.lock:
                    fake.calls.append((f"PUT {self.path}", body))
                data = b"{}"
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def actions(self) -> list[str]:
        with self.lock:
            return [a for a, _ in self.calls]

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture
def fake_sfn(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeStepFunctions]:
    fake = FakeStepFunctions()
    thread = threading.Thread(target=fake.server.serve_forever, daemon=True)
    thread.start()
    for key, value in aws_env(sfn=fake.url).items():
        monkeypatch.setenv(key, value)
    yield fake
    fake.server.shutdown()


# s3rver accepts only its built-in S3RVER key pair.
def aws_env(**endpoints: str) -> dict[str, str]:
    env = {
        "AWS_ACCESS_KEY_ID": "S3RVER",
        "AWS_SECRET_ACCESS_KEY": "S3RVER",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    for service, url in endpoints.items():
        env[f"AWS_ENDPOINT_URL_{service.upper()}"] = url
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def s3rver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real s3rver (the local runtime's S3 emulator) with bucket `payloads`."""
    node = shutil.which("node")
    if not node or not (REPO / "node_modules" / "s3rver").exists():
        pytest.skip("node and node_modules/s3rver are needed for the S3 tests")
    port = free_port()
    script = (
        "const S3rver=require('s3rver');"
        f"new S3rver({{port:{port},address:'127.0.0.1',silent:true,"
        f"directory:{json.dumps(str(tmp_path_factory.mktemp('s3')))},"
        "configureBuckets:[{name:'payloads'}]}).run().then(()=>console.log('ready'));"
    )
    proc = subprocess.Popen([node, "-e", script], cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        deadline = time.time() + 20
        while time.time() < deadline and proc.stdout.readline().strip() != "ready":
            if proc.poll() is not None:
                pytest.skip("s3rver did not start")
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def run_echo(mode: str, env: dict[str, str], stdin: str = "", timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ECHO_STAGE), mode],
        input=stdin,
        # The worker library of this source tree, not whichever copy the venv has installed.
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE.parent), os.environ.get("PYTHONPATH", "")]), **env},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
