"""`python -m chat2svg_detail check`: can this machine run the stage at all."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

STAGE = Path(__file__).resolve().parent.parent


def check(model_dir: Path) -> subprocess.CompletedProcess[str]:
    path = os.pathsep.join(
        filter(None, [str(STAGE), str(STAGE.parent / "worker"), os.environ.get("PYTHONPATH")])
    )
    env = {**os.environ, "MODEL_DIR": str(model_dir), "PYTHONPATH": path}
    return subprocess.run(
        [sys.executable, "-m", "chat2svg_detail", "check"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_check_passes_with_models(tiny_models):
    proc = check(tiny_models)

    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"ok": True, "modelDir": str(tiny_models), "tinyModels": True}


def test_check_names_missing_models(tmp_path):
    proc = check(tmp_path)

    assert proc.returncode == 1
    assert json.loads(proc.stderr.strip().splitlines()[-1])["error"] == "Stage.ModelUnavailable"
