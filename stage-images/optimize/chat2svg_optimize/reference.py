"""resvg as the reference renderer for tests and benchmarks (resvg-py is a test dependency)."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image


def render_resvg(svg: str, width: int, height: int, background: str = "#ffffff") -> np.ndarray:
    import resvg_py

    png = resvg_py.svg_to_bytes(svg_string=svg, width=width, height=height, background=background)
    return np.asarray(Image.open(io.BytesIO(bytes(png))).convert("RGB"), dtype=np.float64) / 255
