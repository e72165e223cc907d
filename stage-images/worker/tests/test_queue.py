"""Queue mode (the pool backend's worker) against loopback SQS, Step Functions and ECS agent endpoints."""

import json
import threading
from typing import Any

import pytest
from test_entries import INLINE_BUDGET, stage_input
from worker_support import FakeAwsJson, FakeStepFunctions

from chat2svg_worker import make_json_payload
from chat2svg_worker.queue import TaskProtection, main_queue

QUEUE = "http://127.0.0.1/000000000000/detail"


def message(n: int, body: Any) -> dict[str, str]:
    return {"MessageId": f"m{n}", "ReceiptHandle": f"r{n}", "Body": body if isinstance(body, str) else json.dumps(body)}


@pytest.fixture
def queue(fake_sfn: FakeStepFunctions, monkeypatch: pytest.MonkeyPatch):
    pending: list[dict[str, str]] = []

    def reply(action: str, _body: dict) -> dict:
        if action == "ReceiveMessage":
            return {"Messages": [pending.pop(0)]} if pending else {}
        return {}

    fake = FakeAwsJson(reply)
    fake.pending = pending  # type: ignore[attr-defined]
    monkeypatch.setenv("AWS_ENDPOINT_URL_SQS", fake.url)
    yield fake
    fake.close()


def test_runs_each_message_in_one_process_and_deletes_it_once_answered(
    queue: FakeAwsJson, fake_sfn: FakeStepFunctions
) -> None:
    runs: list[str] = []

    def run(doc: dict) -> dict:
        runs.append(doc["requestId"])
        if "fail" in doc["prompt"]:
            from chat2svg_worker import InvalidInput

            raise InvalidInput("bad")
        return {"svg": doc["svg"], "metrics": {}}

    queue.pending += [  # type: ignore[attr-defined]
        message(1, {"input": make_json_payload(stage_input(), budget=INLINE_BUDGET), "taskToken": "t1"}),
        message(2, {"input": make_json_payload(stage_input(fail="x"), budget=INLINE_BUDGET), "taskToken": "t2"}),
    ]
    agent = FakeAwsJson(lambda *_: {})
    try:
        main_queue(run, QUEUE, max_tasks=2, wait_seconds=0, protection=TaskProtection(agent.url, 15))
    finally:
        agent.close()

    assert len(runs) == 2
    assert fake_sfn.last("SendTaskSuccess")["taskToken"] == "t1"
    assert fake_sfn.last("SendTaskFailure") == {"taskToken": "t2", "error": "Stage.InvalidInput", "cause": "bad"}
    deleted = [body["ReceiptHandle"] for action, body in queue.calls if action == "DeleteMessage"]
    assert deleted == ["r1", "r2"]
    # Protected while working, released after, once per message.
    protection = [body for action, body in agent.calls if action == "PUT /task-protection/v1/state"]
    assert (
        protection
        == [
            {"ProtectionEnabled": True, "ExpiresInMinutes": 15},
            {"ProtectionEnabled": False},
        ]
        * 2
    )


def test_heartbeats_at_once_when_work_starts(queue: FakeAwsJson, fake_sfn: FakeStepFunctions, monkeypatch) -> None:
    monkeypatch.setenv("STAGE_HEARTBEAT_SECONDS", "60")
    started = threading.Event()

    def run(doc: dict) -> dict:
        started.set()
        return {"svg": doc["svg"], "metrics": {}}

    queue.pending.append(  # type: ignore[attr-defined]
        message(1, {"input": make_json_payload(stage_input(), budget=INLINE_BUDGET), "taskToken": "t1"})
    )
    main_queue(run, QUEUE, max_tasks=1, wait_seconds=0, protection=TaskProtection(None, 1))

    # The interval is a minute, so the one beat is the one sent on start.
    assert fake_sfn.actions()[:2] == ["SendTaskHeartbeat", "SendTaskSuccess"]


def test_drops_a_message_without_a_task_token(queue: FakeAwsJson, fake_sfn: FakeStepFunctions) -> None:
    queue.pending.append(message(1, "not json"))  # type: ignore[attr-defined]
    stop = threading.Event()

    def reply_then_stop(*_: Any) -> None:
        stop.set()

    threading.Timer(1.0, reply_then_stop).start()
    main_queue(lambda doc: doc, QUEUE, stop=stop, wait_seconds=0, protection=TaskProtection(None, 1))

    assert [b["ReceiptHandle"] for a, b in queue.calls if a == "DeleteMessage"] == ["r1"]
    assert fake_sfn.actions() == []
