"""The entries over one core `run(StageInput) -> StageOutput`: local, task token, queue
(chat2svg_worker.queue), activity (docs/architecture.md §6)."""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from chat2svg_worker.contracts import validate_stage_input, validate_stage_output
from chat2svg_worker.errors import InvalidInput, StageError, Unavailable, as_stage_error
from chat2svg_worker.logs import bind, log
from chat2svg_worker.payload import read_json_payload

RunFn = Callable[[dict[str, Any]], dict[str, Any]]

# SendTaskFailure caps cause at 32,768 chars and error at 256.
_MAX_CAUSE = 32_768


def execute(run: RunFn, stage_input: Any) -> dict[str, Any]:
    """Validates the input, runs the core, fills schemaVersion/stage/durationMs when the core left
    them out, and validates the output. Raises StageError on every failure."""
    validate_stage_input(stage_input)
    bind(requestId=stage_input["requestId"], stage=stage_input["stage"])
    started = time.perf_counter()
    log("stage started", seed=stage_input["seed"], config=stage_input["config"])
    try:
        output = dict(run(stage_input))
    except Exception as exc:
        raise as_stage_error(exc) from exc
    output.setdefault("schemaVersion", 1)
    output.setdefault("stage", stage_input["stage"])
    output.setdefault("durationMs", round((time.perf_counter() - started) * 1000, 1))
    validate_stage_output(output)
    log("stage finished", durationMs=output["durationMs"], metrics=output.get("metrics", {}))
    return output


def _report_failure(error: StageError) -> None:
    log("stage failed", level="ERROR", error={"name": error.name, "message": error.cause})


def main_local(run: RunFn) -> int:
    """StageInput JSON on stdin, StageOutput JSON on stdout. On failure the last stderr line is
    `{"error": "Stage.…", "cause": "…"}` and the exit status is non-zero."""
    try:
        try:
            stage_input = json.loads(sys.stdin.read())
        except ValueError as exc:
            raise InvalidInput(f"stdin is not JSON: {exc}") from exc
        output = execute(run, stage_input)
    except BaseException as exc:  # noqa: BLE001 - every failure must end as a StageFailure line
        if isinstance(exc, SystemExit) and exc.code in (0, None):
            raise
        error = as_stage_error(exc)
        _report_failure(error)
        sys.stderr.write(json.dumps(error.failure()) + "\n")
        sys.stderr.flush()
        return 2 if isinstance(error, InvalidInput) else 1
    sys.stdout.write(json.dumps(output, separators=(",", ":")) + "\n")
    sys.stdout.flush()
    return 0


def _sfn_client() -> Any:
    # boto3 honours AWS_ENDPOINT_URL_SFN, so a local or fake Step Functions endpoint needs no code.
    import boto3
    from botocore.config import Config

    return boto3.client("stepfunctions", config=Config(retries={"mode": "standard", "max_attempts": 5}))


class _Heartbeat:
    """Sends SendTaskHeartbeat every `interval` seconds until stopped."""

    def __init__(self, sfn: Any, token: str, interval: float) -> None:
        self._sfn, self._token, self._interval = sfn, token, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="heartbeat", daemon=True)

    def __enter__(self) -> _Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        # The first beat goes out at once: the state's heartbeat clock has run since the work was
        # sent, through the whole cold start (docs/architecture.md, "Heartbeats and timeouts").
        while True:
            try:
                self._sfn.send_task_heartbeat(taskToken=self._token)
            except Exception as exc:
                code = getattr(exc, "response", {}).get("Error", {}).get("Code", "")
                log("heartbeat failed", level="WARN", code=code, cause=str(exc)[:300])
                if code in ("TaskTimedOut", "InvalidToken", "TaskDoesNotExist"):
                    # Step Functions has given up on this task: finishing the work would be waste.
                    log("task abandoned by Step Functions; exiting", level="ERROR")
                    os._exit(4)
            if self._stop.wait(self._interval):
                return


def _heartbeat_seconds() -> float:
    return float(os.environ.get("STAGE_HEARTBEAT_SECONDS", "30"))


def _finish(sfn: Any, token: str, run: RunFn, load_input: Callable[[], Any]) -> bool:
    """Runs one task and always answers Step Functions; True when it succeeded."""
    try:
        with _Heartbeat(sfn, token, _heartbeat_seconds()):
            output = execute(run, load_input())
        sfn.send_task_success(taskToken=token, output=json.dumps(output, separators=(",", ":")))
        return True
    except BaseException as exc:  # noqa: BLE001 - a crash must still end in SendTaskFailure
        error = Unavailable("task stopped by SIGTERM") if isinstance(exc, _Terminated) else as_stage_error(exc)
        _report_failure(error)
        try:
            sfn.send_task_failure(taskToken=token, error=error.name, cause=error.cause[:_MAX_CAUSE])
        except Exception as send_exc:
            log("SendTaskFailure failed", level="ERROR", cause=str(send_exc)[:300])
        if isinstance(exc, KeyboardInterrupt | SystemExit) and not isinstance(exc, _Terminated):
            raise
        return False


class _Terminated(BaseException):
    pass


def _on_sigterm(*_: object) -> None:
    # ECS sends SIGTERM before SIGKILL; turn it into an exception so the task still reports.
    raise _Terminated()


def main_task(run: RunFn) -> int:
    """Container task mode: SFN_TASK_TOKEN and STAGE_INPUT (a PayloadRef to the StageInput)."""
    token = os.environ.get("SFN_TASK_TOKEN")
    if not token:
        log("SFN_TASK_TOKEN is not set", level="ERROR")
        return 3
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _on_sigterm)
    sfn = _sfn_client()

    def load_input() -> Any:
        raw = os.environ.get("STAGE_INPUT")
        if not raw:
            raise InvalidInput("STAGE_INPUT is not set")
        try:
            ref = json.loads(raw)
        except ValueError as exc:
            raise InvalidInput(f"STAGE_INPUT is not JSON: {exc}") from exc
        return read_json_payload(ref)

    return 0 if _finish(sfn, token, run, load_input) else 1


def main_activity(
    run: RunFn,
    activity_arn: str,
    *,
    worker_name: str | None = None,
    max_tasks: int | None = None,
    stop: threading.Event | None = None,
) -> int:
    """Polls a Step Functions activity and runs tasks one after another in this warm process
    (start several processes for a pool). The task input is a StageInput or a PayloadRef to one."""
    sfn = _sfn_client()
    name = worker_name or f"{socket.gethostname()}-{os.getpid()}"
    stop = stop or threading.Event()
    done = 0
    while not stop.is_set() and (max_tasks is None or done < max_tasks):
        try:
            task = sfn.get_activity_task(activityArn=activity_arn, workerName=name)
        except Exception as exc:
            log("GetActivityTask failed", level="WARN", cause=str(exc)[:300])
            stop.wait(5)
            continue
        token = task.get("taskToken")
        if not token:
            continue  # the long poll ended without work

        def load_input(raw: str = task.get("input", "")) -> Any:
            try:
                doc = json.loads(raw)
            except ValueError as exc:
                raise InvalidInput(f"activity input is not JSON: {exc}") from exc
            return doc if isinstance(doc, dict) and "schemaVersion" in doc else read_json_payload(doc)

        _finish(sfn, token, run, load_input)
        done += 1
    return 0


def main(run: RunFn, argv: list[str] | None = None) -> int:
    """`local` (default), `task`, `queue [URL]` (or STAGE_QUEUE_URL / QUEUE_NAME), or `activity <arn>`
    (or STAGE_ACTIVITY_ARN)."""
    args = sys.argv[1:] if argv is None else argv
    mode = args[0] if args else ("task" if os.environ.get("SFN_TASK_TOKEN") else "local")
    if mode == "local":
        return main_local(run)
    if mode == "task":
        return main_task(run)
    if mode == "activity":
        arn = args[1] if len(args) > 1 else os.environ.get("STAGE_ACTIVITY_ARN", "")
        if not arn:
            log("activity mode needs an ARN argument or STAGE_ACTIVITY_ARN", level="ERROR")
            return 3
        return main_activity(run, arn)
    if mode == "queue":
        from chat2svg_worker.queue import main_queue, queue_url_from_env

        url = args[1] if len(args) > 1 else queue_url_from_env()
        if not url:
            log("queue mode needs a URL argument, STAGE_QUEUE_URL or QUEUE_NAME", level="ERROR")
            return 3
        return main_queue(run, url)
    log(f"unknown mode {mode!r}; use local, task, queue or activity", level="ERROR")
    return 3
