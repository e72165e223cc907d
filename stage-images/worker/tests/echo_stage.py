"""A tiny stage for the entry tests: echoes its svg. The config is a real (typed) optimize config, so
the prompt steers it: `sleep=0.5`, `fail=<cause>`, `crash` (`;`-separated)."""

import sys
import time

from chat2svg_worker import InvalidInput, main, make_output_payload, note_model_load, read_payload


def load() -> None:
    note_model_load("echo")


def run(stage_input: dict) -> dict:
    steer = dict(part.partition("=")[::2] for part in stage_input["prompt"].split(";") if part)
    time.sleep(float(steer.get("sleep") or 0))
    if steer.get("fail"):
        raise InvalidInput(steer["fail"])
    if "crash" in steer:
        return {"metrics": {"ratio": 1 / 0}}
    svg = read_payload(stage_input["svg"])
    return {
        "svg": make_output_payload(svg, "image/svg+xml", stage_input, "out.svg"),
        "metrics": {"bytes": len(svg)},
    }


if __name__ == "__main__":
    sys.exit(main(run, load=load))
