"""Loss curves as SVG, with nothing but the standard library.

:func:`svg` draws the training loss of every epoch and, when there is one,
the validation loss: axes with ticks and labels, a legend, and a logarithmic
loss axis when the losses span more than two decades (largest / smallest >
100, all positive).  ``plainnet train --plot curve.svg`` writes it;
``History.plot()`` draws the same with matplotlib instead.
"""

from math import ceil, floor, isfinite, log10

__all__ = ["svg", "write_svg", "plot_history", "use_log_scale", "TRAIN_COLOR", "VAL_COLOR"]

TRAIN_COLOR = "#1f77b4"
VAL_COLOR = "#ff7f0e"
#: Log scale above this ratio of the largest to the smallest loss.
LOG_RATIO = 100.0

_FACE = 'font-family="DejaVu Sans, Arial, Helvetica, sans-serif"'
_FONT = _FACE + ' font-size="12"'


def _escape(text):
    return (str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


def _finite(values):
    return [v for v in values if isfinite(v)]


def use_log_scale(*curves):
    """True when every loss is positive and the largest is over 100 times the smallest."""
    values = [v for c in curves for v in _finite(c)]
    if not values or min(values) <= 0.0:
        return False
    return max(values) / min(values) > LOG_RATIO


def _nice_ticks(lo, hi, count=6):
    """Round tick values covering [lo, hi]: steps of 1, 2 or 5 times a power of ten."""
    if hi <= lo:
        pad = abs(lo) * 0.1 or 1.0
        lo, hi = lo - pad, hi + pad
    raw = (hi - lo) / count
    power = 10.0 ** floor(log10(raw))
    step = next(m * power for m in (1.0, 2.0, 5.0, 10.0) if m * power >= raw)
    first = floor(lo / step) * step
    last = ceil(hi / step) * step
    n = int(round((last - first) / step))
    return [first + k * step for k in range(n + 1)]


def _log_ticks(lo, hi):
    """(tick values, axis lo, axis hi) in data units for a log axis covering [lo, hi]."""
    a, b = floor(log10(lo)), ceil(log10(hi))
    if b == a:
        b += 1
    decades = b - a
    every = max(1, int(ceil(decades / 8.0)))
    ticks = [10.0 ** e for e in range(a, b + 1, every)]
    if decades <= 3:  # few decades: also 2 and 5 times each power
        ticks = sorted(t * m for t in ticks for m in (1.0, 2.0, 5.0) if a <= log10(t * m) <= b)
    return ticks, 10.0 ** a, 10.0 ** b


def _label(v, log):
    if log or (v != 0.0 and not 1e-3 <= abs(v) < 1e5):
        text = "%.0e" % v if log else "%.3g" % v
        mantissa, _, exponent = text.partition("e")
        if exponent:
            return "%se%d" % (mantissa, int(exponent))
        return text
    return "%.6g" % v


def svg(train, val=(), title=None, ylabel="loss", width=640, height=400):
    """An SVG document (text) of the training and validation loss per epoch.

    ``train`` and ``val`` hold one loss per epoch (``val`` may be empty);
    epochs count from 1.  Non-finite losses are left out of the curves.
    """
    train, val = [float(v) for v in train], [float(v) for v in val]
    if not _finite(train) and not _finite(val):
        raise ValueError("no finite loss to plot")
    left, right, top, bottom = 78, 20, 40 if title else 20, 48
    pw, ph = width - left - right, height - top - bottom
    n = max(len(train), len(val))
    log = use_log_scale(train, val)
    values = _finite(train) + _finite(val)
    if log:
        yticks, ylo, yhi = _log_ticks(min(values), max(values))
        t = log10
    else:
        yticks = _nice_ticks(min(values), max(values))
        ylo, yhi = yticks[0], yticks[-1]
        t = float
    tlo, thi = t(ylo), t(yhi)

    def y_of(v):
        return top + ph - (t(v) - tlo) / (thi - tlo) * ph

    xticks = [v for v in _nice_ticks(1.0, float(max(n, 2)), 8) if 1 <= v <= max(n, 2)]
    if n > 1 and xticks[0] != 1.0:
        xticks.insert(0, 1.0)
    xhi = float(max(n, 2))

    def x_of(epoch):
        return left + (epoch - 1.0) / (xhi - 1.0) * pw

    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           '<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d">'
           % (width, height, width, height),
           '<rect width="100%" height="100%" fill="white"/>']
    if title:
        out.append('<text x="%.1f" y="24" text-anchor="middle" %s font-size="14">%s</text>'
                   % (left + pw / 2.0, _FACE, _escape(title)))
    # grid, ticks and tick labels
    out.append('<g class="yticks" stroke="#dddddd" stroke-width="1">')
    for v in yticks:
        y = y_of(v)
        out.append('<line x1="%.2f" y1="%.2f" x2="%.2f" y2="%.2f"/>' % (left, y, left + pw, y))
    out.append('</g>')
    out.append('<g class="ylabels" %s text-anchor="end">' % _FONT)
    for v in yticks:
        out.append('<text x="%.2f" y="%.2f" data-value="%r">%s</text>'
                   % (left - 6, y_of(v) + 4, v, _escape(_label(v, log))))
    out.append('</g>')
    out.append('<g class="xlabels" %s text-anchor="middle">' % _FONT)
    for v in xticks:
        out.append('<text x="%.2f" y="%.2f" data-value="%r">%d</text>'
                   % (x_of(v), top + ph + 18, v, int(v)))
    out.append('</g>')
    out.append('<g class="xticks" stroke="black" stroke-width="1">')
    for v in xticks:
        x = x_of(v)
        out.append('<line x1="%.2f" y1="%.2f" x2="%.2f" y2="%.2f"/>' % (x, top + ph, x, top + ph + 5))
    out.append('</g>')
    # axes
    out.append('<g class="axes" stroke="black" stroke-width="1" fill="none">'
               '<rect x="%d" y="%d" width="%d" height="%d"/></g>' % (left, top, pw, ph))
    out.append('<text class="xlabel" x="%.1f" y="%d" text-anchor="middle" %s>epoch</text>'
               % (left + pw / 2.0, height - 10, _FONT))
    ytext = ylabel + (" (log scale)" if log else "")
    out.append('<text class="ylabel" x="16" y="%.1f" text-anchor="middle" %s '
               'transform="rotate(-90 16 %.1f)">%s</text>'
               % (top + ph / 2.0, _FONT, top + ph / 2.0, _escape(ytext)))
    # curves
    curves = [("train", "training loss", train, TRAIN_COLOR, "")]
    if val:
        curves.append(("val", "validation loss", val, VAL_COLOR, ' stroke-dasharray="6 3"'))
    for cls, _, values_, color, dash in curves:
        runs, run = [], []
        for epoch, v in enumerate(values_, 1):
            if isfinite(v):
                run.append("%.2f,%.2f" % (x_of(epoch), y_of(v)))
            elif run:
                runs.append(run)
                run = []
        if run:
            runs.append(run)
        for run in runs:
            if len(run) == 1:
                x, y = run[0].split(",")
                out.append('<circle class="%s" cx="%s" cy="%s" r="2.5" fill="%s"/>' % (cls, x, y, color))
            else:
                out.append('<polyline class="%s" fill="none" stroke="%s" stroke-width="2"%s points="%s"/>'
                           % (cls, color, dash, " ".join(run)))
    # legend, top right inside the plot
    lx, ly = left + pw - 150, top + 10
    out.append('<g class="legend">')
    out.append('<rect x="%d" y="%d" width="140" height="%d" fill="white" stroke="#999999"/>'
               % (lx, ly, 8 + 18 * len(curves)))
    for k, (_, name, _, color, dash) in enumerate(curves):
        y = ly + 16 + 18 * k
        out.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2"%s/>'
                   % (lx + 8, y - 4, lx + 36, y - 4, color, dash))
        out.append('<text x="%d" y="%d" %s>%s</text>' % (lx + 42, y, _FONT, name))
    out.append('</g>')
    out.append('</svg>')
    return "\n".join(out) + "\n"


def write_svg(path, history, title=None, ylabel="loss"):
    """Write :func:`svg` of ``history`` (a History: losses and ``val_loss``) to ``path``, atomically."""
    from ._modelfile import write_atomically
    text = svg(history, getattr(history, "val_loss", ()) or (), title=title, ylabel=ylabel)
    write_atomically(path, text.encode("utf-8"))


def plot_history(history, ax=None, title=None, ylabel="loss"):
    """Draw ``history`` (and its ``val_loss``) on a matplotlib Axes; returns the Axes."""
    try:
        import matplotlib
        if ax is None:
            import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError("History.plot needs matplotlib: `pip install matplotlib` (%s); "
                          "`plainnet train --plot` writes SVG without it" % exc) from exc
    del matplotlib
    if ax is None:
        _, ax = plt.subplots()
    train = list(history)
    val = list(getattr(history, "val_loss", []) or [])
    ax.plot(range(1, len(train) + 1), train, color=TRAIN_COLOR, label="training loss")
    if val:
        ax.plot(range(1, len(val) + 1), val, color=VAL_COLOR, linestyle="--", label="validation loss")
    if use_log_scale(train, val):
        ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.legend()
    return ax
