"""`python -m chat2svg_optimize [local|task|queue [url]|activity <arn>]`: the stage's entries."""

import json
import sys


def _unavailable(cause: str) -> int:
    sys.stderr.write(json.dumps({"error": "Stage.Unavailable", "cause": cause}) + "\n")
    return 3


def _main() -> int:
    try:
        from chat2svg_worker import main

        from chat2svg_optimize.stage import run
    except ImportError as exc:
        return _unavailable(f"optimize stage dependencies are missing ({exc}); run the README setup")
    return main(run)


if __name__ == "__main__":
    sys.exit(_main())
