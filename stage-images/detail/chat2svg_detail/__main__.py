"""`python -m chat2svg_detail local|task|queue [URL]|activity ARN|check|tiny-models DIR`.

`check` answers, without loading torch, whether this machine can run the stage at all (for the
resource assessment): `{"ok": true, ...}` on stdout and exit 0, else the failure document on stderr."""

from __future__ import annotations

import sys
from pathlib import Path


def check() -> int:
    import importlib.util
    import json

    from chat2svg_detail.models import check_models
    from chat2svg_worker import StageError, Unavailable

    try:
        models = check_models()
        missing = [m for m in ("torch", "diffusers", "transformers") if importlib.util.find_spec(m) is None]
        if missing:
            raise Unavailable(f"Python packages missing: {', '.join(missing)}")
    except StageError as error:
        print(json.dumps(error.failure()), file=sys.stderr)
        return 1
    print(json.dumps({"ok": True, "modelDir": str(models.root), "tinyModels": models.tiny}))
    return 0


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "local"
    if command == "tiny-models" and len(argv) == 2:
        from chat2svg_detail.tiny import build

        build(Path(argv[1]))
        print(argv[1])
        return 0
    from chat2svg_detail.stage import run

    if command == "check":
        return check()
    if command in ("local", "task", "queue", "activity"):
        from chat2svg_worker import main as worker_main

        return worker_main(run, argv)
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
