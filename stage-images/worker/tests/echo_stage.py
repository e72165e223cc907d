"""A tiny stage for the entry tests: echoes its svg; config steers sleeping and failing."""

import sys
import time

from chat2svg_worker import InvalidInput, main, make_output_payload, note_model_load, read_payload


def load() -> None:
    note_model_load("echo")


def run(stage_input: dict) -> dict:
    config = stage_input["config"]
    time.sleep(float(config.get("sleep", 0)))
    if config.get("fail"):
        raise InvalidInput(str(config["fail"]))
    if config.get("crash"):
        return {"metrics": {"ratio": 1 / 0}}
    svg = read_payload(stage_input["svg"])
    return {
        "svg": make_output_payload(svg, "image/svg+xml", stage_input, "out.svg"),
        "metrics": {"bytes": len(svg)},
    }


if __name__ == "__main__":
    sys.exit(main(run, load=load))
