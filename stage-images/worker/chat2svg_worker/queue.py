"""Queue mode, the `pool` GPU backend's worker: one long-lived process that keeps its models loaded
and takes `{"input": PayloadRef, "taskToken": …}` messages from SQS (sqs:sendMessage.waitForTaskToken),
one at a time. While it works, its ECS task is protected from scale-in, since the queue-depth policy
scales in as soon as no message is visible. A message is deleted once Step Functions has its answer;
a worker that dies leaves it to reappear after the visibility timeout (the stage timeout)."""

from __future__ import annotations

import contextlib
import json
import math
import os
import threading
import urllib.request
from collections.abc import Iterator
from typing import Any

from chat2svg_worker.entries import RunFn, _finish, _sfn_client
from chat2svg_worker.errors import InvalidInput
from chat2svg_worker.logs import log
from chat2svg_worker.payload import read_json_payload


def _sqs_client() -> Any:
    import boto3
    from botocore.config import Config

    # Long polls hold the connection for up to 20 s.
    return boto3.client("sqs", config=Config(read_timeout=30, retries={"mode": "standard", "max_attempts": 5}))


def queue_url_from_env() -> str | None:
    """STAGE_QUEUE_URL, or the QUEUE_NAME that aws-ecs-patterns' queue-processing service sets."""
    url = os.environ.get("STAGE_QUEUE_URL")
    if url:
        return url
    name = os.environ.get("QUEUE_NAME")
    return _sqs_client().get_queue_url(QueueName=name)["QueueUrl"] if name else None


class TaskProtection:
    """ECS task scale-in protection through the agent endpoint (ECS_AGENT_URI, set in every ECS task).
    Outside ECS there is no endpoint and nothing to protect."""

    def __init__(self, agent_uri: str | None, minutes: int) -> None:
        self._url = f"{agent_uri.rstrip('/')}/task-protection/v1/state" if agent_uri else None
        self._minutes = minutes

    @classmethod
    def from_env(cls) -> TaskProtection:
        timeout = float(os.environ.get("STAGE_TIMEOUT_SECONDS", "900"))
        return cls(os.environ.get("ECS_AGENT_URI"), max(1, math.ceil(timeout / 60)))

    def _set(self, enabled: bool) -> None:
        if not self._url:
            return
        body: dict[str, Any] = {"ProtectionEnabled": enabled}
        if enabled:
            # Expires by itself should this process die without taking it back.
            body["ExpiresInMinutes"] = self._minutes
        request = urllib.request.Request(
            self._url, data=json.dumps(body).encode(), method="PUT", headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                response.read()
        except OSError as exc:
            # Unprotected work may be cut short by a scale-in; it is retried from the queue then.
            log("task protection failed", level="WARN", enabled=enabled, cause=str(exc)[:300])

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        self._set(True)
        try:
            yield
        finally:
            self._set(False)


def _parse(body: str) -> tuple[str, Any]:
    doc = json.loads(body)
    if not isinstance(doc, dict) or not isinstance(doc.get("taskToken"), str) or "input" not in doc:
        raise ValueError("expected {input, taskToken}")
    return doc["taskToken"], doc["input"]


def main_queue(
    run: RunFn,
    queue_url: str,
    *,
    max_tasks: int | None = None,
    stop: threading.Event | None = None,
    wait_seconds: int = 20,
    protection: TaskProtection | None = None,
) -> int:
    """Takes messages until stopped (or `max_tasks` answered); `run` stays loaded across them."""
    sqs, sfn = _sqs_client(), _sfn_client()
    stop = stop or threading.Event()
    protection = protection or TaskProtection.from_env()
    done = 0
    while not stop.is_set() and (max_tasks is None or done < max_tasks):
        try:
            reply = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=1, WaitTimeSeconds=wait_seconds)
        except Exception as exc:  # botocore raises many unrelated types
            log("ReceiveMessage failed", level="WARN", cause=str(exc)[:300])
            stop.wait(5)
            continue
        for message in reply.get("Messages", []):
            receipt = message["ReceiptHandle"]
            try:
                token, ref = _parse(message["Body"])
            except ValueError as exc:
                # No token to answer: a message that never came from the state machine.
                log("dropping a message that is not a stage task", level="ERROR", cause=str(exc)[:300])
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=receipt)
                continue

            def load_input(ref: Any = ref) -> Any:
                if not isinstance(ref, dict):
                    raise InvalidInput("message input is not a PayloadRef")
                return read_json_payload(ref)

            with protection.held():
                _finish(sfn, token, run, load_input)
                # Answered (success or failure): the message has done its job.
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=receipt)
            done += 1
    return 0
