"""The three entries, run as real subprocesses; task and activity modes talk to a fake Step
Functions endpoint on loopback through boto3 (AWS_ENDPOINT_URL_SFN)."""

import json
import re
import threading

from worker_support import ECHO_STAGE, FakeStepFunctions, run_echo

from chat2svg_worker import make_json_payload, make_payload
from chat2svg_worker.contracts import tiers

# Any small budget: inline or not is decided per transport by prepare-stage-input.
INLINE_BUDGET = 6 * 1024

SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><circle r="3" fill="#123"/></svg>'


def stage_input(**steer: object) -> dict:
    """An optimize StageInput at the medium tier; `steer` (sleep, fail, crash) goes in the prompt."""
    prompt = ";".join(f"{key}={value}" if value is not True else key for key, value in steer.items())
    return {
        "schemaVersion": 1,
        "requestId": "req-1",
        "stage": "optimize",
        "prompt": prompt or "a dot",
        "style": "",
        "seed": 0,
        "config": tiers()["medium"]["optimize"],
        "svg": make_payload(SVG, "image/svg+xml", budget=INLINE_BUDGET),
    }


def failure_line(stderr: str) -> dict:
    return json.loads(stderr.strip().splitlines()[-1])


def test_local_mode_answers_a_stage_output_on_stdout() -> None:
    done = run_echo("local", {}, json.dumps(stage_input()))
    assert done.returncode == 0, done.stderr
    output = json.loads(done.stdout)
    assert output["schemaVersion"] == 1 and output["stage"] == "optimize"
    assert output["svg"]["inline"] == SVG.decode()
    assert output["metrics"] == {"bytes": len(SVG)}
    assert output["durationMs"] >= 0
    assert all(json.loads(line)["level"] for line in done.stderr.splitlines())  # structured logs


def test_logs_use_the_field_names_of_the_handlers_powertools_logger() -> None:
    done = run_echo("local", {}, json.dumps(stage_input()))
    lines = [json.loads(line) for line in done.stderr.splitlines()]
    started = next(line for line in lines if line["message"] == "stage started")
    assert list(started)[:4] == ["level", "message", "timestamp", "service"]
    assert started["level"] == "INFO"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", started["timestamp"])
    assert started["service"] == "optimize-stage"
    assert started["requestId"] == stage_input()["requestId"]


def test_local_mode_reports_invalid_input_on_stderr() -> None:
    doc = stage_input()
    del doc["svg"]
    done = run_echo("local", {}, json.dumps(doc))
    assert done.returncode != 0
    assert done.stdout == ""
    assert failure_line(done.stderr)["error"] == "Stage.InvalidInput"
    assert "svg" in failure_line(done.stderr)["cause"]


def test_local_mode_reports_a_crash_as_stage_failed() -> None:
    done = run_echo("local", {}, json.dumps(stage_input(crash=True)))
    assert done.returncode != 0
    assert failure_line(done.stderr) == {"error": "Stage.Failed", "cause": "ZeroDivisionError: division by zero"}


def task_env(fake: FakeStepFunctions, doc: dict) -> dict[str, str]:
    return {
        "SFN_TASK_TOKEN": "token-1",
        "STAGE_INPUT": json.dumps(make_json_payload(doc, budget=INLINE_BUDGET)),
        "STAGE_HEARTBEAT_SECONDS": "0.1",
    }


def test_task_mode_heartbeats_and_sends_task_success(fake_sfn: FakeStepFunctions) -> None:
    done = run_echo("task", task_env(fake_sfn, stage_input(sleep=0.5)))
    assert done.returncode == 0, done.stderr
    actions = fake_sfn.actions()
    assert actions.count("SendTaskHeartbeat") >= 2
    assert actions[-1] == "SendTaskSuccess" and "SendTaskFailure" not in actions
    sent = fake_sfn.last("SendTaskSuccess")
    assert sent["taskToken"] == "token-1"
    assert json.loads(sent["output"])["svg"]["inline"] == SVG.decode()


def test_task_mode_sends_the_stage_error_name_on_failure(fake_sfn: FakeStepFunctions) -> None:
    done = run_echo("task", task_env(fake_sfn, stage_input(fail="no shapes")))
    assert done.returncode == 1
    assert fake_sfn.actions()[-1] == "SendTaskFailure"
    assert fake_sfn.last("SendTaskFailure") == {
        "taskToken": "token-1",
        "error": "Stage.InvalidInput",
        "cause": "no shapes",
    }


def test_task_mode_sends_task_failure_even_on_a_crash(fake_sfn: FakeStepFunctions) -> None:
    done = run_echo("task", task_env(fake_sfn, stage_input(crash=True)))
    assert done.returncode == 1
    assert fake_sfn.last("SendTaskFailure")["error"] == "Stage.Failed"


def test_task_mode_with_a_broken_stage_input_ref_still_answers(fake_sfn: FakeStepFunctions) -> None:
    env = {**task_env(fake_sfn, stage_input()), "STAGE_INPUT": '{"inline": "x"}'}
    done = run_echo("task", env)
    assert done.returncode == 1
    assert fake_sfn.last("SendTaskFailure")["error"] == "Stage.InvalidInput"


def test_activity_mode_runs_each_polled_task(fake_sfn: FakeStepFunctions) -> None:
    import importlib.util

    from chat2svg_worker import main_activity

    spec = importlib.util.spec_from_file_location("echo_stage", ECHO_STAGE)
    assert spec and spec.loader
    echo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(echo)
    fake_sfn.activity_tasks = [
        {"taskToken": "a", "input": json.dumps(stage_input())},
        {"taskToken": "b", "input": json.dumps(make_json_payload(stage_input(fail="bad"), budget=6144))},
    ]
    stop = threading.Event()
    main_activity(echo.run, "arn:aws:states:us-east-1:000000000000:activity:optimize", max_tasks=2, stop=stop)
    assert fake_sfn.last("SendTaskSuccess")["taskToken"] == "a"
    assert fake_sfn.last("SendTaskFailure") == {"taskToken": "b", "error": "Stage.InvalidInput", "cause": "bad"}
