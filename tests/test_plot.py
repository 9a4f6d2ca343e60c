"""Loss plots: the SVG of plainnet._plot (parsed, and rendered in a real
headless browser where chromium is installed) and History.plot (matplotlib,
where installed)."""

import math
import os
import random
import shutil
import struct
import subprocess
import xml.etree.ElementTree as ET
import zlib

import pytest

import plainnet as pn
from plainnet import _plot
from plainnet.cli import main

SVG = "{http://www.w3.org/2000/svg}"


def _parse(text):
    root = ET.fromstring(text.encode("utf-8"))
    assert root.tag == SVG + "svg"
    return root


def _group(root, cls):
    [g] = [e for e in root.iter() if e.get("class") == cls]
    return g


def _points(root, cls):
    [line] = [e for e in root.iter(SVG + "polyline") if e.get("class") == cls]
    return [tuple(map(float, p.split(","))) for p in line.get("points").split()]


def _check_mapping(losses, points, transform):
    """Points are one per epoch, x increasing, y a decreasing affine function of transform(loss)."""
    assert len(points) == len(losses)
    xs = [x for x, _ in points]
    assert xs == sorted(xs) and len(set(xs)) == len(xs)
    # y = a + b * transform(loss) with b < 0, from the extreme points, checked everywhere.
    i, j = losses.index(max(losses)), losses.index(min(losses))
    b = (points[i][1] - points[j][1]) / (transform(losses[i]) - transform(losses[j]))
    a = points[i][1] - b * transform(losses[i])
    assert b < 0  # a larger loss is higher up: a smaller y
    for loss, (_, y) in zip(losses, points):
        assert abs(y - (a + b * transform(loss))) < 0.02
    # ... and monotonically: the order of the losses is the reverse order of the y values
    order = sorted(range(len(losses)), key=lambda k: losses[k])
    ys = [points[k][1] for k in order]
    assert all(y1 >= y2 for y1, y2 in zip(ys, ys[1:]))
    return a, b


def test_linear_svg_has_axes_ticks_labels_and_legend():
    train = [1.0 / (1 + 0.1 * k) for k in range(50)]
    val = [t + 0.05 for t in train]
    root = _parse(_plot.svg(train, val, title="a <title> & more", ylabel="loss (mse)"))
    texts = [e.text for e in root.iter(SVG + "text")]
    assert "a <title> & more" in texts and "epoch" in texts and "loss (mse)" in texts
    legend = [e.text for e in _group(root, "legend").iter(SVG + "text")]
    assert legend == ["training loss", "validation loss"]
    xlabels = [int(e.text) for e in _group(root, "xlabels")]
    assert xlabels[0] == 1 and xlabels == sorted(xlabels) and xlabels[-1] <= 50 and len(xlabels) >= 4
    ylabels = list(_group(root, "ylabels"))
    values = [float(e.get("data-value")) for e in ylabels]
    assert values[0] <= min(train) and values[-1] >= max(val)
    assert [float(e.text) for e in ylabels] == pytest.approx(values)
    a, b = _check_mapping(train, _points(root, "train"), float)
    a2, b2 = _check_mapping(val, _points(root, "val"), float)
    assert (a, b) == pytest.approx((a2, b2), abs=0.05)  # one axis for both curves
    for e, v in zip(ylabels, values):  # each tick label sits at its value's height
        assert float(e.get("y")) - 4 == pytest.approx(a + b * v, abs=0.02)


def test_log_scale_when_the_loss_spans_decades():
    train = [10.0 ** (-k / 10.0) for k in range(60)]  # 1 down to 1.3e-6: six decades
    root = _parse(_plot.svg(train))
    assert "loss (log scale)" in [e.text for e in root.iter(SVG + "text")]
    values = [float(e.get("data-value")) for e in _group(root, "ylabels")]
    assert all(abs(math.log10(v) - round(math.log10(v))) < 1e-9 for v in values)
    assert values[0] <= min(train) and values[-1] >= max(train)
    _check_mapping(train, _points(root, "train"), math.log10)
    assert [e.text for e in _group(root, "legend").iter(SVG + "text")] == ["training loss"]
    # two decades or less: linear
    assert not _plot.use_log_scale([1.0, 0.011]) and _plot.use_log_scale([1.0, 0.009])
    assert not _plot.use_log_scale([1.0, 0.0, 1e-9])  # a zero loss: no log axis


def test_constant_single_and_non_finite_losses():
    root = _parse(_plot.svg([0.5] * 10))
    assert len({y for _, y in _points(root, "train")}) == 1
    root = _parse(_plot.svg([0.3]))
    assert len(list(root.iter(SVG + "circle"))) == 1
    root = _parse(_plot.svg([1.0, 0.5, float("nan"), 0.25, 0.2]))
    runs = [e for e in root.iter(SVG + "polyline") if e.get("class") == "train"]
    circles = [e for e in root.iter(SVG + "circle")]
    assert len(runs) + len(circles) == 2
    with pytest.raises(ValueError):
        _plot.svg([float("inf")])


def _csv(path, n=120, seed=0):
    rng = random.Random(seed)
    with open(path, "w") as f:
        f.write("a,b,y\n")
        for _ in range(n):
            a, b = rng.uniform(-1, 1), rng.uniform(-1, 1)
            f.write("%r,%r,%r\n" % (a, b, 1.0 if a * b > 0 else 0.0))


def test_cli_train_plot(tmp_path, capsys):
    data, model, plot = str(tmp_path / "d.csv"), str(tmp_path / "m.json"), str(tmp_path / "c.svg")
    _csv(data)
    assert main(["train", data, "--target", "y", "--epochs", "40", "--seed", "1", "--quiet",
                 "--validation-split", "0.25", "--loss", "binary_crossentropy", "-o", model,
                 "--plot", plot]) == 0
    with open(plot) as f:
        root = _parse(f.read())
    assert len(_points(root, "train")) == len(_points(root, "val")) == 40
    assert "loss (binary_crossentropy)" in [e.text for e in root.iter(SVG + "text")]
    # an unwritable plot path fails before any training
    assert main(["train", data, "--target", "y", "--quiet", "-o", model,
                 "--plot", str(tmp_path / "no" / "c.svg")]) == 1
    assert "does not exist" in capsys.readouterr().err


def test_history_plot_with_matplotlib():
    matplotlib = pytest.importorskip("matplotlib", reason="matplotlib is not installed")
    matplotlib.use("Agg")
    net = pn.Network([2, 4, 1], seed=0)
    X = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]] * 4
    T = [0.0, 1.0, 1.0, 0.0] * 4
    history = net.train(X, T, epochs=30, validation_split=0.25)
    ax = history.plot(title="xor")
    lines = ax.get_lines()
    assert [list(l.get_ydata()) for l in lines] == [list(history), history.val_loss]
    assert list(lines[0].get_xdata()) == list(range(1, 31))
    assert ax.get_xlabel() == "epoch" and ax.get_title() == "xor"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["training loss", "validation loss"]
    assert ax.get_yscale() == ("log" if _plot.use_log_scale(history, history.val_loss) else "linear")
    h = pn.History([1.0, 1e-3, 1e-5])
    assert h.plot().get_yscale() == "log"
    import matplotlib.pyplot as plt
    plt.close("all")


# -- a real browser ---------------------------------------------------------------------

def _browser():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def _read_png(path):
    """(width, height, rows of (r, g, b)) of an 8-bit RGB or RGBA, non-interlaced PNG."""
    with open(path, "rb") as f:
        data = f.read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat = 8, b""
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and color in (2, 6) and interlace == 0
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    bpp = 3 if color == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows, prev = [], bytearray(stride)
    for y in range(height):
        ftype = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if ftype == 1:
                line[i] = (line[i] + a) & 255
            elif ftype == 2:
                line[i] = (line[i] + b) & 255
            elif ftype == 3:
                line[i] = (line[i] + ((a + b) >> 1)) & 255
            elif ftype == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append([tuple(line[k:k + 3]) for k in range(0, stride, bpp)])
        prev = line
    return width, height, rows


def _near(rgb, hex_color, tol=60):
    target = tuple(int(hex_color[k:k + 2], 16) for k in (1, 3, 5))
    return sum(abs(p - q) for p, q in zip(rgb, target)) <= tol


def _distance(u, v, p, q):
    """Distance from the pixel (u, v) to the segment p-q."""
    (x1, y1), (x2, y2) = p, q
    dx, dy = x2 - x1, y2 - y1
    t = max(0.0, min(1.0, ((u - x1) * dx + (v - y1) * dy) / (dx * dx + dy * dy or 1.0)))
    return math.hypot(u - (x1 + t * dx), v - (y1 + t * dy))


@pytest.mark.skipif(_browser() is None, reason="no chromium installed (apt-get install chromium)")
def test_svg_renders_in_a_headless_browser(tmp_path):
    train = [2.0 * math.exp(-k / 15.0) + 0.1 for k in range(100)]
    val = [t + 0.3 + 0.002 * k for k, t in enumerate(train)]
    text = _plot.svg(train, val, title="rendered")
    svg_path, png = tmp_path / "curve.svg", tmp_path / "shot.png"
    svg_path.write_text(text)
    shot = os.environ.get("PLAINNET_KEEP_SCREENSHOT")  # a path: keep the screenshot there to look at
    subprocess.run([_browser(), "--headless", "--no-sandbox", "--disable-gpu",
                    "--disable-background-networking", "--hide-scrollbars", "--window-size=640,400",
                    "--screenshot=%s" % png, svg_path.as_uri()],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120, check=True)
    if shot:
        shutil.copy(str(png), shot)
    width, height, rows = _read_png(str(png))
    assert (width, height) == (640, 400)
    colors = {p for row in rows for p in row}
    assert len(colors) > 20  # not blank: lines, text with antialiasing, two curve colours
    grey = sum(1 for row in rows for p in row if sum(p) < 450 and max(p) - min(p) < 30)
    assert grey > 1500  # axes, ticks and text are drawn (black, antialiased to greys)
    root = _parse(text)
    for cls, color, need in (("train", _plot.TRAIN_COLOR, 0.95), ("val", _plot.VAL_COLOR, 0.6)):
        points = _points(root, cls)
        hits = 0
        for x, y in points[::5]:
            xi, yi = int(round(x)), int(round(y))
            if any(_near(rows[v][u], color) for v in range(yi - 3, yi + 4) for u in range(xi - 3, xi + 4)
                   if 0 <= v < height and 0 <= u < width):
                hits += 1
        # the dashed validation curve has gaps; the solid training curve has none
        assert hits >= need * len(points[::5]), (cls, hits)
    # and the curve is where the SVG says, not elsewhere: no training colour far from its points
    points = _points(root, "train")
    stray = 0
    legend_box = (640 - 20 - 150, 40 + 10, 640 - 20, 40 + 10 + 8 + 36)
    for v in range(0, height, 2):
        for u in range(0, width, 2):
            if not _near(rows[v][u], _plot.TRAIN_COLOR, 30):
                continue
            if legend_box[0] <= u <= legend_box[2] and legend_box[1] <= v <= legend_box[3]:
                continue
            if min(_distance(u, v, p, q) for p, q in zip(points, points[1:])) > 4:
                stray += 1
    assert stray == 0
