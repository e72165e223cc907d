"""The warm worker over JSON lines, run as a real subprocess: loads once, answers many requests."""

import json
import subprocess
import sys

from test_entries import SVG, stage_input
from worker_support import ECHO_STAGE, worker_env


def run_pool(lines: list[dict]) -> tuple[list[dict], str]:
    done = subprocess.run(
        [sys.executable, str(ECHO_STAGE), "pool"],
        input="".join(json.dumps(line) + "\n" for line in lines),
        env=worker_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()], done.stderr


def test_a_warm_worker_loads_once_and_answers_every_request_in_order() -> None:
    replies, _ = run_pool([{"id": f"j{i}", "input": stage_input()} for i in range(5)])

    ready, *answers = replies
    assert ready["event"] == "ready" and ready["modelLoads"] == {"echo": 1}
    assert [a["id"] for a in answers] == ["j0", "j1", "j2", "j3", "j4"]
    assert all(a["output"]["svg"]["inline"] == SVG.decode() for a in answers)
    assert all(a["modelLoads"] == {"echo": 1} for a in answers)


def test_a_failing_request_answers_its_error_and_the_worker_goes_on() -> None:
    bad = stage_input()
    bad["seed"] = -1
    replies, stderr = run_pool(
        [
            {"id": "a", "input": stage_input(fail="no good")},
            {"id": "b", "input": bad},
            {"id": "c", "input": stage_input(crash=True)},
            {"id": "d", "input": stage_input()},
        ]
    )

    _, *answers = replies
    assert answers[0] == {"id": "a", "error": "Stage.InvalidInput", "cause": "no good", "modelLoads": {"echo": 1}}
    assert answers[1]["error"] == "Stage.InvalidInput"
    assert answers[2]["error"] == "Stage.Failed" and "ZeroDivisionError" in answers[2]["cause"]
    assert answers[3]["output"]["stage"] == "optimize"
    assert all(json.loads(line)["level"] for line in stderr.splitlines())  # logs stay on stderr
