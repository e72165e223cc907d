"""`python -m chat2svg_detail local|task|activity ARN|tiny-models DIR`."""

from __future__ import annotations

import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "local"
    if command == "tiny-models" and len(argv) == 2:
        from chat2svg_detail.tiny import build

        build(Path(argv[1]))
        print(argv[1])
        return 0
    from chat2svg_detail.stage import run
    from chat2svg_worker import main_activity, main_local, main_task

    if command == "local":
        return main_local(run)
    if command == "task":
        return main_task(run)
    if command == "activity" and len(argv) == 2:
        return main_activity(run, argv[1])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
