"""The template SVG as a tree: its canvas, its shapes in paint order, rendering, and insertion of new
paths above the shapes they overlap."""

from __future__ import annotations

import copy
import io
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

import numpy as np
import resvg_py
from PIL import Image

from chat2svg_worker import InvalidInput

SVG_NS = "http://www.w3.org/2000/svg"
ET.register_namespace("", SVG_NS)
ET.register_namespace("xlink", "http://www.w3.org/1999/xlink")

SHAPES = {"path", "rect", "circle", "ellipse", "polygon", "polyline", "line"}
_PATH_ID = re.compile(r"^path_(\d+)$")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


@dataclass(frozen=True)
class Canvas:
    x: float
    y: float
    width: float
    height: float

    def pixel_size(self, longest: int) -> tuple[int, int]:
        scale = longest / max(self.width, self.height)
        return max(1, round(self.width * scale)), max(1, round(self.height * scale))


class SvgDoc:
    def __init__(self, text: str) -> None:
        try:
            self.root = ET.fromstring(text)
        except ET.ParseError as exc:
            raise InvalidInput(f"template SVG does not parse: {exc}") from exc
        if _local(self.root.tag) != "svg":
            raise InvalidInput("template is not an <svg> document")
        self.canvas = self._canvas()
        self._parents = {child: parent for parent in self.root.iter() for child in parent}

    def _canvas(self) -> Canvas:
        box = self.root.get("viewBox")
        if box:
            try:
                x, y, w, h = (float(v) for v in re.split(r"[\s,]+", box.strip()))
            except ValueError as exc:
                raise InvalidInput(f"bad viewBox {box!r}") from exc
        else:
            x = y = 0.0
            w = float(re.sub(r"px$", "", self.root.get("width", "512")))
            h = float(re.sub(r"px$", "", self.root.get("height", "512")))
        if w <= 0 or h <= 0:
            raise InvalidInput(f"empty canvas {w}x{h}")
        return Canvas(x, y, w, h)

    def shapes(self) -> list[ET.Element]:
        """Drawable shapes in paint order (document order), skipping <defs> and the like."""
        out: list[ET.Element] = []

        def walk(node: ET.Element) -> None:
            for child in node:
                name = _local(child.tag)
                if name in SHAPES:
                    out.append(child)
                elif name in ("g", "a", "switch"):
                    walk(child)

        walk(self.root)
        return out

    def next_path_number(self) -> int:
        numbers = [int(m.group(1)) for el in self.root.iter() if (m := _PATH_ID.match(el.get("id", "")))]
        return max(numbers, default=len(self.shapes()) - 1) + 1

    def to_string(self) -> str:
        return ET.tostring(self.root, encoding="unicode")

    def render(self, longest: int, background: str | None = "white") -> np.ndarray:
        return render_svg(self.to_string(), self.canvas.pixel_size(longest), background)

    def shape_masks(self, longest: int) -> list[np.ndarray]:
        """Coverage of each shape alone (with its inherited transforms), one render per shape."""
        shapes = self.shapes()
        masks = []
        for i in range(len(shapes)):
            solo = copy.deepcopy(self.root)
            solo_shapes = SvgDoc._shapes_of(solo)
            for j, el in enumerate(solo_shapes):
                if j != i:
                    el.set("display", "none")
            rgba = render_svg(ET.tostring(solo, encoding="unicode"), self.canvas.pixel_size(longest), None)
            masks.append(rgba[..., 3] > 127)
        return masks

    @staticmethod
    def _shapes_of(root: ET.Element) -> list[ET.Element]:
        doc = SvgDoc.__new__(SvgDoc)
        doc.root = root
        return doc.shapes()

    def _top_level(self, el: ET.Element) -> ET.Element:
        while self._parents[el] is not self.root:
            el = self._parents[el]
        return el

    def insert_paths(self, paths: list[tuple[str, str, np.ndarray]], longest: int) -> list[str]:
        """Adds (d, fill, mask) paths, largest first, each just above the topmost shape (template or
        already added) it overlaps, else on top (painting order equals `placed` order); returns the
        ids given."""
        shapes = self.shapes()
        coverage = self.shape_masks(longest) if shapes else []
        placed: list[tuple[ET.Element, np.ndarray]] = list(zip(shapes, coverage, strict=True))
        number = self.next_path_number()
        ids = []
        for d, fill, mask in paths:
            el = ET.Element(
                f"{{{SVG_NS}}}path",
                {"id": f"path_{number}", "d": d, "fill": fill, "fill-rule": "evenodd"},
            )
            ids.append(f"path_{number}")
            number += 1
            below = [k for k, (_, m) in enumerate(placed) if m.shape == mask.shape and (m & mask).any()]
            if below:
                # As a child of the root right after the anchor's top-level ancestor: inside a group,
                # the group's transform, opacity or clip would apply to viewBox coordinates.
                anchor = self._top_level(placed[below[-1]][0])
                self.root.insert(list(self.root).index(anchor) + 1, el)
                at = max(k for k, (e, _) in enumerate(placed) if self._top_level(e) is anchor) + 1
                placed.insert(at, (el, mask))
            else:
                self.root.append(el)
                placed.append((el, mask))
            self._parents[el] = self.root
        return ids


def render_svg(svg: str, size: tuple[int, int], background: str | None = "white") -> np.ndarray:
    """RGB (with a background) or RGBA uint8 pixels of an SVG rendered at `size` (width, height)."""
    try:
        png = resvg_py.svg_to_bytes(
            svg_string=svg, width=size[0], height=size[1], background=background, skip_system_fonts=True
        )
    except ValueError as exc:
        raise InvalidInput(f"template SVG does not render: {exc}") from exc
    image = Image.open(io.BytesIO(bytes(png)))
    return np.asarray(image.convert("RGB" if background else "RGBA"))
