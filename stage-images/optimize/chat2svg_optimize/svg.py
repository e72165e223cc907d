"""SVG ⇄ scene: every drawable element becomes cubic Bézier subpaths in viewBox units with a solid
fill, a stroke and an opacity; the writer emits one compact <path> per shape."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

import numpy as np
from chat2svg_worker import InvalidInput

SVG_NS = "http://www.w3.org/2000/svg"
KAPPA = 0.5522847498307936  # cubic control distance for a quarter circle

Color = tuple[float, float, float, float]  # RGBA in [0, 1]


@dataclass
class Subpath:
    points: np.ndarray  # (3k+1, 2): start, then (c1, c2, end) per cubic
    closed: bool


@dataclass
class Shape:
    subpaths: list[Subpath]
    fill: Color | None = (0.0, 0.0, 0.0, 1.0)
    fill_rule: str = "nonzero"
    stroke: Color | None = None
    stroke_width: float = 1.0
    opacity: float = 1.0
    linejoin: str = "miter"
    linecap: str = "butt"
    miterlimit: float = 4.0
    id: str | None = None

    @property
    def segments(self) -> int:
        return sum((len(s.points) - 1) // 3 for s in self.subpaths)


@dataclass
class Scene:
    width: float
    height: float
    view_box: tuple[float, float, float, float]
    shapes: list[Shape] = field(default_factory=list)

    @property
    def segments(self) -> int:
        return sum(s.segments for s in self.shapes)


# ---- colors -----------------------------------------------------------------------------------
NAMED_COLORS = {
    "black": "000000",
    "white": "ffffff",
    "red": "ff0000",
    "green": "008000",
    "blue": "0000ff",
    "yellow": "ffff00",
    "cyan": "00ffff",
    "aqua": "00ffff",
    "magenta": "ff00ff",
    "fuchsia": "ff00ff",
    "gray": "808080",
    "grey": "808080",
    "silver": "c0c0c0",
    "maroon": "800000",
    "olive": "808000",
    "lime": "00ff00",
    "teal": "008080",
    "navy": "000080",
    "purple": "800080",
    "orange": "ffa500",
    "brown": "a52a2a",
    "pink": "ffc0cb",
    "gold": "ffd700",
    "coral": "ff7f50",
    "salmon": "fa8072",
    "tomato": "ff6347",
    "crimson": "dc143c",
    "indigo": "4b0082",
    "violet": "ee82ee",
    "khaki": "f0e68c",
    "beige": "f5f5dc",
    "tan": "d2b48c",
    "chocolate": "d2691e",
    "sienna": "a0522d",
    "peru": "cd853f",
    "skyblue": "87ceeb",
    "steelblue": "4682b4",
    "royalblue": "4169e1",
    "darkblue": "00008b",
    "lightblue": "add8e6",
    "darkgreen": "006400",
    "lightgreen": "90ee90",
    "forestgreen": "228b22",
    "seagreen": "2e8b57",
    "limegreen": "32cd32",
    "darkred": "8b0000",
    "firebrick": "b22222",
    "darkorange": "ff8c00",
    "orangered": "ff4500",
    "goldenrod": "daa520",
    "darkgray": "a9a9a9",
    "darkgrey": "a9a9a9",
    "lightgray": "d3d3d3",
    "lightgrey": "d3d3d3",
    "dimgray": "696969",
    "dimgrey": "696969",
    "slategray": "708090",
    "ivory": "fffff0",
    "lavender": "e6e6fa",
    "turquoise": "40e0d0",
    "plum": "dda0dd",
    "orchid": "da70d6",
    "wheat": "f5deb3",
    "linen": "faf0e6",
    "hotpink": "ff69b4",
    "deeppink": "ff1493",
    "saddlebrown": "8b4513",
    "olivedrab": "6b8e23",
    "yellowgreen": "9acd32",
    "midnightblue": "191970",
    "darkslategray": "2f4f4f",
    "snow": "fffafa",
    "mintcream": "f5fffa",
    "whitesmoke": "f5f5f5",
    "gainsboro": "dcdcdc",
    "rebeccapurple": "663399",
}


def parse_color(value: str | None, current: Color | None = None) -> Color | None:
    """CSS color → RGBA; None for `none` (and for gradients/patterns we cannot resolve)."""
    if value is None:
        return current
    v = value.strip().lower()
    if v in ("none", "transparent", ""):
        return None
    if v == "currentcolor":
        return (0.0, 0.0, 0.0, 1.0)
    if v in NAMED_COLORS:
        v = "#" + NAMED_COLORS[v]
    if v.startswith("#"):
        h = v[1:]
        if len(h) in (3, 4):
            h = "".join(c * 2 for c in h)
        if len(h) in (6, 8) and re.fullmatch(r"[0-9a-f]+", h):
            rgba = [int(h[i : i + 2], 16) / 255 for i in range(0, len(h), 2)]
            return (rgba[0], rgba[1], rgba[2], rgba[3] if len(rgba) == 4 else 1.0)
        return None
    m = re.fullmatch(r"rgba?\(([^)]*)\)", v)
    if m:
        parts = [p for p in re.split(r"[\s,/]+", m.group(1).strip()) if p]
        if len(parts) < 3:
            return None
        rgb = [float(p[:-1]) / 100 if p.endswith("%") else float(p) / 255 for p in parts[:3]]
        alpha = 1.0
        if len(parts) > 3:
            alpha = float(parts[3][:-1]) / 100 if parts[3].endswith("%") else float(parts[3])
        return (*(min(max(c, 0.0), 1.0) for c in rgb), min(max(alpha, 0.0), 1.0))  # type: ignore[return-value]
    return None


# ---- transforms -------------------------------------------------------------------------------
Matrix = np.ndarray  # 3x3 affine


def parse_transform(text: str | None) -> Matrix:
    m = np.eye(3)
    if not text:
        return m
    for name, args in re.findall(r"(matrix|translate|scale|rotate|skewX|skewY)\s*\(([^)]*)\)", text):
        a = [float(x) for x in NUMBER.findall(args)]
        t = np.eye(3)
        if name == "matrix" and len(a) == 6:
            t = np.array([[a[0], a[2], a[4]], [a[1], a[3], a[5]], [0, 0, 1]])
        elif name == "translate" and a:
            t[0, 2], t[1, 2] = a[0], a[1] if len(a) > 1 else 0.0
        elif name == "scale" and a:
            t[0, 0], t[1, 1] = a[0], a[1] if len(a) > 1 else a[0]
        elif name == "rotate" and a:
            c, s = math.cos(math.radians(a[0])), math.sin(math.radians(a[0]))
            r = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])
            if len(a) >= 3:
                cx, cy = a[1], a[2]
                r = _translate(cx, cy) @ r @ _translate(-cx, -cy)
            t = r
        elif name == "skewX" and a:
            t[0, 1] = math.tan(math.radians(a[0]))
        elif name == "skewY" and a:
            t[1, 0] = math.tan(math.radians(a[0]))
        m = m @ t
    return m


def _translate(x: float, y: float) -> Matrix:
    return np.array([[1, 0, x], [0, 1, y], [0, 0, 1.0]])


def _apply(m: Matrix, pts: np.ndarray) -> np.ndarray:
    return pts @ m[:2, :2].T + m[:2, 2]


# ---- path data --------------------------------------------------------------------------------
NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_PATH_TOKEN = re.compile(r"[MmLlHhVvCcSsQqTtAaZz]|[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_ARGS = {"m": 2, "l": 2, "h": 1, "v": 1, "c": 6, "s": 4, "q": 4, "t": 2, "a": 7, "z": 0}


def _tokens(d: str) -> list[str]:
    out: list[str] = []
    pos = 0
    cmd = ""
    arg_index = 0
    while pos < len(d):
        ch = d[pos]
        if ch in " \t\r\n,":
            pos += 1
            continue
        if cmd.lower() == "a" and arg_index % 7 in (3, 4) and ch in "01":
            # arc flags may be written without separators: "a1 1 0 00 1 2"
            out.append(ch)
            pos += 1
            arg_index += 1
            continue
        m = _PATH_TOKEN.match(d, pos)
        if not m:
            raise InvalidInput(f"bad path data near {d[pos : pos + 20]!r}")
        tok = m.group(0)
        if tok.isalpha():
            cmd, arg_index = tok, 0
        else:
            arg_index += 1
        out.append(tok)
        pos = m.end()
    return out


def _line(p0: np.ndarray, p1: np.ndarray) -> list[np.ndarray]:
    return [p0 + (p1 - p0) / 3, p0 + 2 * (p1 - p0) / 3, p1]


def _arc(p0: np.ndarray, rx: float, ry: float, phi_deg: float, large: bool, sweep: bool, p1: np.ndarray):
    """SVG endpoint arc → cubic control points (c1, c2, end)*, ≤ 90° per cubic (SVG 1.1 F.6)."""
    if np.allclose(p0, p1):
        return []
    rx, ry = abs(rx), abs(ry)
    if rx == 0 or ry == 0:
        return _line(p0, p1)
    phi = math.radians(phi_deg % 360)
    cp, sp = math.cos(phi), math.sin(phi)
    dx, dy = (p0 - p1) / 2
    x1p, y1p = cp * dx + sp * dy, -sp * dx + cp * dy
    lam = (x1p / rx) ** 2 + (y1p / ry) ** 2
    if lam > 1:
        rx, ry = rx * math.sqrt(lam), ry * math.sqrt(lam)
    num = rx * rx * ry * ry - rx * rx * y1p * y1p - ry * ry * x1p * x1p
    den = rx * rx * y1p * y1p + ry * ry * x1p * x1p
    coef = math.sqrt(max(num / den, 0.0)) if den else 0.0
    if large == sweep:
        coef = -coef
    cxp, cyp = coef * rx * y1p / ry, -coef * ry * x1p / rx
    cx = cp * cxp - sp * cyp + (p0[0] + p1[0]) / 2
    cy = sp * cxp + cp * cyp + (p0[1] + p1[1]) / 2

    def angle(ux: float, uy: float, vx: float, vy: float) -> float:
        return math.atan2(ux * vy - uy * vx, ux * vx + uy * vy)

    t1 = angle(1, 0, (x1p - cxp) / rx, (y1p - cyp) / ry)
    dt = angle((x1p - cxp) / rx, (y1p - cyp) / ry, (-x1p - cxp) / rx, (-y1p - cyp) / ry)
    if not sweep and dt > 0:
        dt -= 2 * math.pi
    elif sweep and dt < 0:
        dt += 2 * math.pi
    n = max(1, math.ceil(abs(dt) / (math.pi / 2) - 1e-9))
    step = dt / n
    k = 4 / 3 * math.tan(step / 4)
    out: list[np.ndarray] = []

    def point(t: float) -> np.ndarray:
        return np.array(
            [cx + rx * cp * math.cos(t) - ry * sp * math.sin(t), cy + rx * sp * math.cos(t) + ry * cp * math.sin(t)]
        )

    def deriv(t: float) -> np.ndarray:
        return np.array(
            [-rx * cp * math.sin(t) - ry * sp * math.cos(t), -rx * sp * math.sin(t) + ry * cp * math.cos(t)]
        )

    for i in range(n):
        a, b = t1 + i * step, t1 + (i + 1) * step
        pa, pb = point(a), point(b)
        out += [pa + k * deriv(a), pb - k * deriv(b), pb]
    out[-1] = p1.copy()
    return out


def parse_path_data(d: str) -> list[Subpath]:
    toks = _tokens(d)
    subpaths: list[Subpath] = []
    pts: list[np.ndarray] = []
    cur = np.zeros(2)
    start = np.zeros(2)
    last_ctrl: np.ndarray | None = None  # for S/T reflection
    last_cmd = ""
    i = 0
    cmd = ""

    def flush(closed: bool) -> None:
        nonlocal pts
        if len(pts) > 1:
            subpaths.append(Subpath(np.array(pts, dtype=np.float64), closed))
        pts = []

    while i < len(toks):
        if toks[i].isalpha():
            cmd = toks[i]
            i += 1
        elif not cmd:
            raise InvalidInput("path data must start with a command")
        lc = cmd.lower()
        n = _ARGS[lc]
        if lc == "z":
            if pts:
                if not np.allclose(pts[-1], start):
                    pts += _line(pts[-1], start)
                flush(True)
            cur = start.copy()
            last_ctrl, last_cmd = None, "z"
            if i < len(toks) and not toks[i].isalpha():
                # z takes no numbers; without this the loop would read "z" again forever.
                raise InvalidInput("path command z takes no numbers")
            continue
        if i + n > len(toks) or any(t.isalpha() for t in toks[i : i + n]):
            raise InvalidInput(f"path command {cmd} needs {n} numbers")
        a = [float(t) for t in toks[i : i + n]]
        i += n
        rel = cmd.islower()
        base = cur if rel else np.zeros(2)
        if lc == "m":
            flush(False)
            cur = base + a[:2]
            start = cur.copy()
            pts = [cur.copy()]
            cmd = "l" if rel else "L"  # following pairs are implicit lineto
            last_ctrl, last_cmd = None, "m"
            continue
        if not pts:
            pts = [cur.copy()]
        if lc == "l":
            p = base + a[:2]
            pts += _line(cur, p)
        elif lc == "h":
            p = np.array([cur[0] + a[0] if rel else a[0], cur[1]])
            pts += _line(cur, p)
        elif lc == "v":
            p = np.array([cur[0], cur[1] + a[0] if rel else a[0]])
            pts += _line(cur, p)
        elif lc == "c":
            c1, c2, p = base + a[0:2], base + a[2:4], base + a[4:6]
            pts += [c1, c2, p]
            last_ctrl = c2
        elif lc == "s":
            c1 = 2 * cur - last_ctrl if last_cmd in ("c", "s") and last_ctrl is not None else cur.copy()
            c2, p = base + a[0:2], base + a[2:4]
            pts += [c1, c2, p]
            last_ctrl = c2
        elif lc == "q":
            q, p = base + a[0:2], base + a[2:4]
            pts += [cur + 2 / 3 * (q - cur), p + 2 / 3 * (q - p), p]
            last_ctrl = q
        elif lc == "t":
            q = 2 * cur - last_ctrl if last_cmd in ("q", "t") and last_ctrl is not None else cur.copy()
            p = base + a[0:2]
            pts += [cur + 2 / 3 * (q - cur), p + 2 / 3 * (q - p), p]
            last_ctrl = q
        elif lc == "a":
            p = base + a[5:7]
            pts += _arc(cur, a[0], a[1], a[2], a[3] != 0, a[4] != 0, p)
        cur = pts[-1].copy()
        last_cmd = lc
    flush(False)
    return _finite(subpaths)


def _ellipse(cx: float, cy: float, rx: float, ry: float) -> Subpath:
    kx, ky = rx * KAPPA, ry * KAPPA
    p = [
        (cx + rx, cy),
        (cx + rx, cy + ky), (cx + kx, cy + ry), (cx, cy + ry),
        (cx - kx, cy + ry), (cx - rx, cy + ky), (cx - rx, cy),
        (cx - rx, cy - ky), (cx - kx, cy - ry), (cx, cy - ry),
        (cx + kx, cy - ry), (cx + rx, cy - ky), (cx + rx, cy),
    ]  # fmt: skip
    return Subpath(np.array(p, dtype=np.float64), True)


def _polyline(coords: list[float], closed: bool) -> list[Subpath]:
    xy = np.array(coords[: len(coords) // 2 * 2], dtype=np.float64).reshape(-1, 2)
    if len(xy) < 2:
        return []
    pts = [xy[0]]
    for p in xy[1:]:
        pts += _line(pts[-1], p)
    if closed and not np.allclose(xy[-1], xy[0]):
        pts += _line(pts[-1], xy[0])
    return [Subpath(np.array(pts), closed)]


def _number(value: str | None, default: float) -> float:
    """A style number as renderers read it: an invalid or non-finite value is ignored."""
    m = NUMBER.match((value or "").strip())
    v = float(m.group(0)) if m else default
    return v if math.isfinite(v) else default


def _fraction(value: str | None) -> float:
    """An opacity: a number or percentage, clamped to [0, 1]."""
    text = (value or "").strip()
    v = _number(text.rstrip("%"), 1.0) / (100 if text.endswith("%") else 1)
    return min(1.0, max(0.0, v))


def _finite(subpaths: list[Subpath]) -> list[Subpath]:
    """Coordinates that overflow (1e308 and its transforms) are refused, never passed on as inf."""
    for sp in subpaths:
        if not np.isfinite(sp.points).all():
            raise InvalidInput("coordinates out of range")
    return subpaths


def _num(el: ET.Element, name: str, default: float = 0.0) -> float:
    v = el.get(name)
    if v is None:
        return default
    m = NUMBER.match(v.strip())
    return float(m.group(0)) if m else default


def element_subpaths(el: ET.Element, tag: str) -> list[Subpath]:
    if tag == "path":
        return parse_path_data(el.get("d", ""))
    if tag == "rect":
        x, y, w, h = _num(el, "x"), _num(el, "y"), _num(el, "width"), _num(el, "height")
        if w <= 0 or h <= 0:
            return []
        rx, ry = el.get("rx"), el.get("ry")
        rxv = _num(el, "rx") if rx is not None else (_num(el, "ry") if ry is not None else 0.0)
        ryv = _num(el, "ry") if ry is not None else rxv
        rxv, ryv = min(rxv, w / 2), min(ryv, h / 2)
        if rxv <= 0 or ryv <= 0:
            return _polyline([x, y, x + w, y, x + w, y + h, x, y + h], True)
        d = (
            f"M{x + rxv},{y}H{x + w - rxv}A{rxv},{ryv} 0 0 1 {x + w},{y + ryv}V{y + h - ryv}"
            f"A{rxv},{ryv} 0 0 1 {x + w - rxv},{y + h}H{x + rxv}A{rxv},{ryv} 0 0 1 {x},{y + h - ryv}"
            f"V{y + ryv}A{rxv},{ryv} 0 0 1 {x + rxv},{y}Z"
        )
        return parse_path_data(d)
    if tag == "circle":
        r = _num(el, "r")
        return [_ellipse(_num(el, "cx"), _num(el, "cy"), r, r)] if r > 0 else []
    if tag == "ellipse":
        rx, ry = _num(el, "rx"), _num(el, "ry")
        return [_ellipse(_num(el, "cx"), _num(el, "cy"), rx, ry)] if rx > 0 and ry > 0 else []
    if tag == "line":
        return _polyline([_num(el, "x1"), _num(el, "y1"), _num(el, "x2"), _num(el, "y2")], False)
    if tag in ("polyline", "polygon"):
        return _polyline([float(v) for v in NUMBER.findall(el.get("points", ""))], tag == "polygon")
    return []


# ---- documents --------------------------------------------------------------------------------
_INHERITED = ("fill", "fill-rule", "fill-opacity", "stroke", "stroke-width", "stroke-opacity",
              "stroke-linejoin", "stroke-linecap", "stroke-miterlimit", "visibility")  # fmt: skip
_DRAWABLE = ("path", "rect", "circle", "ellipse", "line", "polyline", "polygon")
_SKIP = ("defs", "clipPath", "mask", "pattern", "linearGradient", "radialGradient", "symbol", "title",
         "desc", "metadata", "style", "marker", "filter", "text", "image", "use")  # fmt: skip


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _styles(el: ET.Element) -> dict[str, str]:
    out = {k: v for k, v in el.attrib.items() if not k.startswith("{")}
    for decl in el.get("style", "").split(";"):
        if ":" in decl:
            k, v = decl.split(":", 1)
            out[k.strip()] = v.strip().replace("!important", "").strip()
    return out


def _gradient_colors(root: ET.Element) -> dict[str, Color]:
    """Gradients become the mean of their stops: the rasterizer fills solid colors only."""
    out: dict[str, Color] = {}
    for el in root.iter():
        if _local(el.tag) in ("linearGradient", "radialGradient") and el.get("id"):
            stops = []
            for stop in el:
                if _local(stop.tag) == "stop":
                    st = _styles(stop)
                    c = parse_color(st.get("stop-color", "black"))
                    if c:
                        stops.append((*c[:3], c[3] * _fraction(st.get("stop-opacity"))))
            if stops:
                out[el.get("id", "")] = tuple(float(v) for v in np.mean(np.array(stops), axis=0))  # type: ignore[assignment]
    return out


def _paint(value: str | None, gradients: dict[str, Color]) -> Color | None:
    if value and value.strip().startswith("url("):
        m = re.match(r"url\(\s*#([^)\s]+)\s*\)", value.strip())
        return gradients.get(m.group(1)) if m else None
    return parse_color(value)


def parse_svg(text: str | bytes) -> Scene:
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise InvalidInput(f"SVG does not parse: {exc}") from exc
    if _local(root.tag) != "svg":
        raise InvalidInput(f"root element is <{_local(root.tag)}>, not <svg>")
    vb = [float(v) for v in NUMBER.findall(root.get("viewBox", ""))]
    width = _num(root, "width", 0.0)
    height = _num(root, "height", 0.0)
    if not all(math.isfinite(v) for v in [*vb, width, height]):
        raise InvalidInput("the canvas size is out of range")
    if len(vb) == 4 and vb[2] > 0 and vb[3] > 0:
        view_box = (vb[0], vb[1], vb[2], vb[3])
    else:
        view_box = (0.0, 0.0, width or 100.0, height or 100.0)
    scene = Scene(width or view_box[2], height or view_box[3], view_box)
    gradients = _gradient_colors(root)

    def walk(el: ET.Element, matrix: Matrix, inherited: dict[str, str], opacity: float) -> None:
        for child in el:
            tag = _local(child.tag)
            if tag in _SKIP or not isinstance(child.tag, str):
                continue
            st = _styles(child)
            if st.get("display") == "none":
                continue
            style = {**inherited, **{k: v for k, v in st.items() if k in _INHERITED}}
            m = matrix @ parse_transform(child.get("transform"))
            op = opacity * _fraction(st.get("opacity"))
            if tag in ("g", "a", "switch", "svg"):
                walk(child, m, style, op)
            elif tag in _DRAWABLE:
                shape = _shape(child, tag, m, style, op, gradients)
                if shape is not None:
                    scene.shapes.append(shape)

    walk(root, np.eye(3), {}, 1.0)
    return scene


def _shape(el: ET.Element, tag: str, m: Matrix, style: dict[str, str], opacity: float, gradients) -> Shape | None:
    if style.get("visibility") in ("hidden", "collapse"):
        return None
    subpaths = element_subpaths(el, tag)
    if not subpaths:
        return None
    fill = _paint(style.get("fill", "black"), gradients)
    if tag in ("line", "polyline") and "fill" not in style:
        fill = None if tag == "line" else fill
    if fill is not None:
        fill = (*fill[:3], fill[3] * _fraction(style.get("fill-opacity")))
    stroke = _paint(style.get("stroke"), gradients)
    if stroke is not None:
        stroke = (*stroke[:3], stroke[3] * _fraction(style.get("stroke-opacity")))
    scale = math.sqrt(abs(np.linalg.det(m[:2, :2])))
    width = _number(style.get("stroke-width"), 1.0) * scale
    if not width > 0 or not math.isfinite(width):
        stroke = None
    if fill is None and stroke is None:
        return None
    return Shape(
        subpaths=_finite([Subpath(_apply(m, s.points), s.closed) for s in subpaths]),
        fill=fill,
        fill_rule="evenodd" if style.get("fill-rule") == "evenodd" else "nonzero",
        stroke=stroke,
        stroke_width=width,
        opacity=max(0.0, min(1.0, opacity)),
        linejoin=style.get("stroke-linejoin", "miter"),
        linecap=style.get("stroke-linecap", "butt"),
        miterlimit=_number(style.get("stroke-miterlimit"), 4.0),
        id=el.get("id"),
    )


# ---- writing ----------------------------------------------------------------------------------
def fmt(v: float, digits: int = 2) -> str:
    s = f"{round(v, digits):.{digits}f}".rstrip("0").rstrip(".") if digits > 0 else str(int(round(v)))
    if s in ("-0", ""):
        s = "0"
    if s.startswith("0."):
        s = s[1:]
    elif s.startswith("-0."):
        s = "-" + s[2:]
    return s


def _join(nums: list[str]) -> str:
    out = ""
    for n in nums:
        # A minus sign separates by itself; so does a dot after a number that already has one.
        if out and not n.startswith("-") and not (n.startswith(".") and "." in _last_number(out)):
            out += " "
        out += n
    return out


def _join_after(prev: str, nums: list[str]) -> str:
    """Numbers appended to a command that already ends in a number."""
    return _join([_last_number(prev), *nums])[len(_last_number(prev)) :]


def _last_number(s: str) -> str:
    m = re.search(r"[-+]?[\d.]+$", s)
    return m.group(0) if m else ""


def _color(c: Color) -> str:
    h = "".join(f"{round(v * 255):02x}" for v in c[:3])
    if h[0] == h[1] and h[2] == h[3] and h[4] == h[5]:
        h = h[0] + h[2] + h[4]
    return "#" + h


def path_data(subpaths: list[Subpath], digits: int = 2, line_tolerance: float = 0.0) -> str:
    """Relative commands from rounded absolute points, so rounding errors do not accumulate."""
    scale = 10.0**digits
    out: list[str] = []
    for sp in subpaths:
        q = np.round(np.asarray(sp.points) * scale) / scale
        cmds = [f"M{_join([fmt(q[0, 0], digits), fmt(q[0, 1], digits)])}"]
        cur = q[0]
        last = len(q) - 4
        for k in range(1, len(q) - 2, 3):
            c1, c2, p = q[k], q[k + 1], q[k + 2]
            if _is_line(cur, c1, c2, p, max(line_tolerance, 0.5 / scale)):
                if sp.closed and k == last + 1 and np.allclose(p, q[0]):
                    break  # z draws the closing line
                dx, dy = fmt(p[0] - cur[0], digits), fmt(p[1] - cur[1], digits)
                letter, nums = ("h", [dx]) if dy == "0" else ("v", [dy]) if dx == "0" else ("l", [dx, dy])
            else:
                letter, nums = "c", [fmt(v, digits) for v in np.concatenate([c1 - cur, c2 - cur, p - cur])]
            if len(cmds) > 1 and cmds[-1][0] == letter:
                # A repeated command letter may be left out: the numbers continue the previous list.
                cmds[-1] += _join_after(cmds[-1], nums)
            else:
                cmds.append(letter + _join(nums))
            cur = p
        if sp.closed:
            cmds.append("z")
        out.append("".join(cmds))
    return "".join(out)


def _is_line(p0: np.ndarray, c1: np.ndarray, c2: np.ndarray, p1: np.ndarray, tol: float) -> bool:
    d = p1 - p0
    length = float(np.hypot(*d))
    if length == 0:
        return bool(np.allclose(c1, p0, atol=tol) and np.allclose(c2, p0, atol=tol))

    def off(c: np.ndarray) -> float:
        return abs(float(d[0] * (c - p0)[1] - d[1] * (c - p0)[0])) / length

    def along(c: np.ndarray) -> float:
        return float(np.dot(c - p0, d)) / (length * length)

    return off(c1) <= tol and off(c2) <= tol and -0.01 <= along(c1) <= 1.01 and -0.01 <= along(c2) <= 1.01


def write_svg(scene: Scene, digits: int = 2, line_tolerance: float = 0.0) -> str:
    vb = " ".join(fmt(v, 3) for v in scene.view_box)
    parts = [f'<svg xmlns="{SVG_NS}" viewBox="{vb}" width="{fmt(scene.width, 3)}" height="{fmt(scene.height, 3)}">']
    for s in scene.shapes:
        attrs = []
        if s.id:
            attrs.append(f'id="{_escape(s.id)}"')
        attrs.append(f'd="{path_data(s.subpaths, digits, line_tolerance)}"')
        if s.fill is None:
            attrs.append('fill="none"')
        else:
            if s.fill[:3] != (0.0, 0.0, 0.0):
                attrs.append(f'fill="{_color(s.fill)}"')
            if s.fill[3] < 0.999:
                attrs.append(f'fill-opacity="{fmt(s.fill[3], 3)}"')
            if s.fill_rule == "evenodd":
                attrs.append('fill-rule="evenodd"')
        if s.stroke is not None:
            attrs.append(f'stroke="{_color(s.stroke)}"')
            if s.stroke[3] < 0.999:
                attrs.append(f'stroke-opacity="{fmt(s.stroke[3], 3)}"')
            if abs(s.stroke_width - 1) > 1e-3:
                attrs.append(f'stroke-width="{fmt(s.stroke_width, digits)}"')
            if s.linejoin != "miter":
                attrs.append(f'stroke-linejoin="{s.linejoin}"')
            if s.linecap != "butt":
                attrs.append(f'stroke-linecap="{s.linecap}"')
            if s.linejoin == "miter" and s.miterlimit != 4:
                attrs.append(f'stroke-miterlimit="{fmt(s.miterlimit, 2)}"')
        if s.opacity < 0.999:
            attrs.append(f'opacity="{fmt(s.opacity, 3)}"')
        parts.append(f"<path {' '.join(attrs)}/>")
    parts.append("</svg>")
    return "".join(parts)


def _escape(s: str) -> str:
    return s.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
