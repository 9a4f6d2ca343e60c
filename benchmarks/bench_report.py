"""Turning the measurements into the printed table, docs/benchmarks.md and the chart."""

import math

GROUP_TITLES = {
    "W1": "W1: the tutorial's 2-2-1 network, 4 rows, 1000 epochs (time per sample-step)",
    "W2": "W2: 64-32-10 on the 8x8 digits (time per sample-step; training-set accuracy reached)",
    "W3": "W3: 784-128-10, synthetic rows, 1 epoch (time per sample-step; GFLOP/s)",
    "W4a": "W4a: single-row predict latency from Python, 64-32-10 (time per call)",
    "W4b": "W4b: batch predict, 10,000 rows, 64-32-10 (time per row)",
    "W5": "W5: import time and peak memory of a fresh interpreter, above `python -c pass`",
    "W4b 784": "W4b 784: batch predict, 10,000 rows, 784-256-10, float64 array in and out (time per row)",
    "W6 peak": "W6 peak: float64 GFLOP/s of one core, measured by benchmarks/peak.c",
    "W6 sgd": "W6 sgd: mini-batch 64 SGD, 784-256-10, float64 arrays in (time per sample; GFLOP/s)",
    "W6 adam": "W6 adam: mini-batch 64 Adam, 784-256-10, float64 arrays in (time per sample; GFLOP/s)",
    "W6 per-sample": "W6 per-sample: batch_size 1 SGD and Adam, 784-256-10 (time per sample)",
    "W7": "W7: scikit-learn's default fit, NetClassifier against MLPClassifier on digits (time per fit; "
          "test accuracy)",
}

#: The row other rows of a group are divided by in the "vs C" column.
REFERENCE_PEERS = {"W5": "import plainnet", "W4b 784": "plainnet c, as_numpy",
                   "W6 per-sample": "plainnet c, per-sample sgd"}

#: Groups that are not times (no "vs C" column, no chart).
NOT_TIMES = ("W5", "W6 peak")

PEER_NOTES = [
    ("plainnet c", "plainnet's C backend (cffi) through the public API: `Network.from_weights(W0, B0, "
                   "backend='c')`, then `net.train(X, T, epochs, 0.1)` timed around the Python call (input "
                   "validation included). \"lists in\" passes lists of floats, \"ndarray in\" float64 arrays."),
    ("plainnet python", "plainnet's pure-Python backend, same calls as `plainnet c`. Where it is too slow "
                        "for the full work in the time budget it does a stated part of it (column `work`); "
                        "its time per step still compares."),
    ("tutorial numpy", "the tutorial's `OurNeuralNetwork.train` rewritten from its maths: scalars w1..w6, "
                       "b1..b3, integer numpy data arrays so every operation is a numpy scalar op, 3 sigmoid "
                       "and 11 `deriv_sigmoid` calls per sample as in the tutorial. Its every-10-epochs loss "
                       "print is left out (monitoring, not training; leaving it in would only slow it)."),
    ("numpy per-layer", "generic per-sample SGD with one `np.dot` per layer on float64 arrays, deltas "
                        "through `W.T` before the update, `W -= np.outer(lr*d, a)`; numpy's BLAS may reorder sums."),
    ("numpy batched", "`sigmoid(X @ W.T + b)` per layer over the whole 10000x64 float64 array (BLAS)."),
    ("scikit-learn", "`MLPRegressor(hidden_layer_sizes=(h,), activation='logistic', solver='sgd', "
                     "batch_size=1, learning_rate='constant', learning_rate_init=0.1, momentum=0, "
                     "nesterovs_momentum=False, alpha=0, shuffle=False, max_iter=epochs, tol=0, "
                     "n_iter_no_change=10**9, early_stopping=False)`, one-hot targets for W2 (MLPClassifier "
                     "would use softmax and log-loss). Differences it cannot be configured out of: an "
                     "identity output layer (not sigmoid), half squared error, its own Glorot-uniform "
                     "initial weights drawn inside `fit` (inside the timing). For W4 its weights are set to "
                     "plainnet's, output still identity."),
    ("torch", "PyTorch per-sample loop: `nn.Sequential(Linear, Sigmoid, Linear, Sigmoid)` from plainnet's "
              "initial weights, `F.mse_loss` (mean over outputs, as plainnet), `loss.backward()`, "
              "`optim.SGD(lr=0.1)` step, one sample at a time, in order; `torch.set_num_threads(n)` as named."),
    ("FANN", "FANN's C library (Debian libfann-dev, linked as doublefann: fann_type = double) driven by "
             "benchmarks/fann_driver.c with `fann_train` (incremental, one update per sample, in order), "
             "FANN_SIGMOID with steepness 0.5 (= the tutorial's sigmoid), FANN_ERRORFUNC_LINEAR, momentum 0, "
             "plainnet's initial weights, and learning_rate = 2*0.1/n_outputs because FANN adds "
             "lr*(t-y)*f'(z)*x where plainnet's mean squared error over n outputs has gradient "
             "-2(t-y)/n. FANN clips y to [0.01, 0.99] inside f' and keeps its learning rate as a float. "
             "Timed inside C."),
    ("limit C", "benchmarks/limit.c: a straightforward per-sample SGD loop in C over contiguous row-major "
                "float64 weights, in plainnet's contract order, timed inside C. `fast` is built with "
                "`-O3 -march=native -ffast-math` (free to reorder sums and use FMA). `strict` is built with "
                "`-O3 -march=native -ffp-contract=off` and keeps the exact contract order, so it should end "
                "with the same bits as plainnet. `input-major` builds (`-DLIMIT_INPUT_MAJOR`) store each "
                "layer's weights transposed, so the forward sums run over inputs for all neurons at once: "
                "vectorised even in strict order. The targets compare plainnet C with the fastest of the "
                "four builds in the same run: the practical speed limit."),
]


def fmt(v):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if v >= 100:
        return "%.0f" % v
    if v >= 10:
        return "%.1f" % v
    if v >= 0.1:
        return "%.3f" % v
    return "%.3g" % v


class Report:
    def __init__(self, results, targets, machine, workloads, quick, cfg, command, elapsed, flops_formula,
                 w6_flops_formula=""):
        self.results = results
        self.targets = targets
        self.machine = machine
        self.workloads = workloads
        self.quick = quick
        self.cfg = cfg
        self.command = command
        self.elapsed = elapsed
        self.flops_formula = flops_formula
        self.w6_flops_formula = w6_flops_formula

    def groups(self):
        seen = []
        for r in self.results:
            if r.group not in seen:
                seen.append(r.group)
        return seen

    def ratio(self, r):
        """r's median over plainnet c's median in the same group (how many times C's time)."""
        if r.group in NOT_TIMES[1:]:
            return None
        ref_peer = REFERENCE_PEERS.get(r.group, "plainnet c")
        ref = next((x for x in self.results if x.group == r.group and x.peer == ref_peer and x.values), None)
        if ref is None or not r.values or r.peer == "python -c pass":
            return None
        return r.median / ref.median

    def rows(self, group):
        """(peer, median, range, ratio, extras, skipped) for one group, in order."""
        out = []
        for r in self.results:
            if r.group != group:
                continue
            if not r.values:
                out.append((r.peer, "-", "-", "-", "skipped: " + (r.skipped or "no data")))
                continue
            extra = ", ".join("%s %s" % (k, v) for k, v in r.extra.items())
            ratio = self.ratio(r)
            out.append((r.peer, "%s %s" % (fmt(r.median), r.unit), "%s - %s" % (fmt(r.low), fmt(r.high)),
                        "-" if ratio is None else fmt(ratio) + "x", extra))
        return out

    # -- plain text --------------------------------------------------------
    def text_table(self):
        lines = []
        if self.quick:
            lines.append("QUICK RUN: fewer repeats and smaller W2/W3; do not quote these numbers")
        for group in self.groups():
            lines.append(GROUP_TITLES.get(group, group))
            rows = [("peer", "median", "min - max", "vs C", "notes")] + self.rows(group)
            widths = [max(len(row[i]) for row in rows) for i in range(4)]
            for row in rows:
                lines.append("  " + "  ".join(row[i].ljust(widths[i]) for i in range(4)) + "  " + row[4])
            lines.append("")
        return "\n".join(lines)

    def text_targets(self):
        lines = ["Targets:"]
        for text, status, detail in self.targets:
            lines.append("  [%s] %s: %s" % (status, text, detail))
        return "\n".join(lines)

    # -- markdown ----------------------------------------------------------
    def markdown(self, chart_name=None):
        md = ["# plainnet benchmarks", ""]
        if self.quick:
            md += ["**QUICK RUN** (`--quick`: %d repeats, W2 %d epochs, W3 %d rows): indicative only; "
                   "run without `--quick` for the numbers to quote." % (
                       self.cfg["repeats"], self.cfg["w2_epochs"], self.cfg["w3_rows"]), ""]
        md += ["Made by `%s` in %.0f s. Every peer was warmed up once, then run in %d interleaved rounds "
               "(peer A, peer B, ..., then again); in a round, a short workload runs back to back for 50 ms "
               "(at most 25 times) and counts its fastest run, as timeit does. The tables give the median "
               "and the min-max range over the rounds. **vs C** is this peer's median divided by plainnet C's median from the same "
               "run: above 1x, plainnet C is faster." % (self.command.strip(), self.elapsed, self.cfg["repeats"]),
               ""]
        md += ["## Machine", "", "| | |", "|---|---|"]
        md += ["| %s | %s |" % (k, v) for k, v in self.machine]
        md += ["", "## Targets", "", "| target | status | measured |", "|---|---|---|"]
        md += ["| %s | %s | %s |" % t for t in self.targets]
        md.append("")
        if chart_name:
            md += ["![time per step, log scale](%s)" % chart_name, ""]
        for group in self.groups():
            md += ["## " + GROUP_TITLES.get(group, group), ""]
            wl = self.workloads.get(group)
            if wl is not None:
                md += ["%s; learning rate %g; %d sample-steps per full run.%s" % (
                    wl.title, wl.lr, wl.n_rows * wl.epochs, (" Data: " + wl.data_note + ".") if wl.data_note else ""), ""]
            if group == "W3":
                md += [self.flops_formula + ".", ""]
            if group in ("W6 sgd", "W6 adam", "W6 per-sample"):
                wl6 = self.workloads.get("W6")
                if wl6 is not None:
                    md += ["%s.%s" % (wl6.title, (" Data: " + wl6.data_note + ".") if wl6.data_note else ""), ""]
                md += [self.w6_flops_formula + "; \"of peak\" divides by the best run of `peak.c, separate mul "
                       "and add` (the W6 peak table).", ""]
            if group == "W6 peak":
                md += ["12 independent chains of 256-bit float64 `acc = acc * m; acc = acc + c` (or one FMA), "
                       "in registers, for about 0.2 s per run, on the CPU the single-threaded peers are pinned "
                       "to. plainnet's strict IEEE order uses separate multiplies and adds, so the mul+add build "
                       "is its peak; FMA is for reference.", ""]
            md += ["| peer | median | min - max | vs C | notes |", "|---|---:|---:|---:|---|"]
            for row in self.rows(group):
                md.append("| %s |" % " | ".join(cell.replace("|", "\\|") for cell in row))
            md.append("")
        md += ["## How each peer does the work", ""]
        md += ["- **%s**: %s" % note for note in PEER_NOTES]
        md += ["",
               "Timing: Python peers are timed with `time.perf_counter` around the Python call, with the "
               "garbage collector paused (as `timeit` does) and the peer reset to the workload's initial "
               "weights outside the timing. C peers (FANN, limit) are separate programs compiled here at run "
               "time with the system compiler; each warms up once and times its own training loop with "
               "`clock_gettime`, so process start-up and Python are not in their figures. W4 times a Python "
               "loop of calls (calibrated to about %.2g s) and divides. W5 starts a fresh interpreter per "
               "sample and takes wall time and peak RSS (`os.wait4` rusage) minus those of `python -c pass` "
               "in the same round. \"same bits as c\" compares the final weights with plainnet C's, bit for "
               "bit, after the same work." % self.cfg["call_seconds"], ""]
        skipped = [r for r in self.results if not r.values]
        if skipped:
            md += ["## Skipped", ""]
            md += ["- %s, %s: %s" % (r.group, r.peer, r.skipped) for r in skipped]
            md.append("")
        return "\n".join(md)

    # -- chart -------------------------------------------------------------
    def write_chart(self, path):
        """Write a bar chart to ``path``; return False (and say why) without matplotlib."""
        try:
            import matplotlib
            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError as exc:
            print("chart skipped: matplotlib is not installed (%s); pip install matplotlib" % exc)
            return False
        groups = [g for g in self.groups() if g not in NOT_TIMES and any(r.values for r in self.results if r.group == g)]
        if not groups:
            print("chart skipped: nothing measured to plot")
            return False
        heights = [sum(1 for r in self.results if r.group == g and r.values) for g in groups]
        fig, axes = plt.subplots(len(groups), 1, figsize=(9, 0.32 * sum(heights) + 1.1 * len(groups)),
                                 gridspec_kw={"height_ratios": heights}, squeeze=False)
        for ax, group in zip(axes[:, 0], groups):
            rows = [r for r in self.results if r.group == group and r.values]
            names = [r.peer for r in rows]
            med = [r.median for r in rows]
            err = [[m - r.low for m, r in zip(med, rows)], [r.high - m for m, r in zip(med, rows)]]
            colors = ["tab:red" if r.peer.startswith("plainnet c") else
                      "tab:orange" if r.peer.startswith("plainnet") else
                      "tab:gray" if r.peer.startswith("limit") else "tab:blue" for r in rows]
            ax.barh(range(len(rows)), med, xerr=err, color=colors, capsize=2)
            ax.set_yticks(range(len(rows)))
            ax.set_yticklabels(names, fontsize=8)
            ax.invert_yaxis()
            ax.set_xscale("log")
            ax.set_xlabel(rows[0].unit + " (log scale, lower is better)", fontsize=8)
            ax.set_title(GROUP_TITLES.get(group, group).split(" (")[0], fontsize=9)
            for i, r in enumerate(rows):
                ratio = self.ratio(r)
                if ratio is not None:
                    ax.text(r.high, i, "  %sx" % fmt(ratio), va="center", fontsize=7)
        title = "plainnet benchmarks" + (" (QUICK RUN)" if self.quick else "")
        fig.suptitle(title + "\nbars: medians; whiskers: min-max; labels: time / plainnet C's time", fontsize=9)
        fig.tight_layout(rect=(0, 0, 1, 1 - 0.5 / fig.get_figheight()))
        fig.savefig(path, dpi=110)
        plt.close(fig)
        return True
