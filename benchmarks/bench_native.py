"""The C peers: limit.c and fann_driver.c, compiled here, at run time.

Each is built with the system C compiler into a temporary directory and run
as a subprocess on a problem file (format in bench_data.h).  The program warms
up once, times its own training loop with clock_gettime, and prints the time
per sample-step, so neither process start-up nor Python is in its figure.
"""

import os
import shutil
import struct
import subprocess
import tempfile

from bench_peers import Runner, Skip

HERE = os.path.dirname(os.path.abspath(__file__))

#: The two builds of limit.c: name -> extra compiler flags.
LIMIT_BUILDS = {
    "fast": ["-O3", "-march=native", "-ffast-math"],
    "strict": ["-O3", "-march=native", "-ffp-contract=off"],
    "strict, input-major": ["-O3", "-march=native", "-ffp-contract=off", "-DLIMIT_INPUT_MAJOR"],
    "fast, input-major": ["-O3", "-march=native", "-ffast-math", "-DLIMIT_INPUT_MAJOR"],
}


def compiler():
    """The C compiler to use ($CC or cc), or raise Skip."""
    cc = shutil.which(os.environ.get("CC", "cc"))
    if not cc:
        raise Skip("no C compiler (set CC or install gcc)")
    return cc


def compiler_version():
    try:
        out = subprocess.run([compiler(), "--version"], capture_output=True, text=True, timeout=30)
        return out.stdout.splitlines()[0].strip()
    except (Skip, OSError, IndexError, subprocess.SubprocessError):
        return "none found"


class Builder:
    """Compiles the C peers once per benchmark run, into one temporary directory."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="plainnet-bench-")
        self._built = {}

    def close(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def build(self, name, source, flags, libs=()):
        """Path of the executable, or raise Skip with the compiler's complaint."""
        if name in self._built:
            result = self._built[name]
            if isinstance(result, Skip):
                raise result
            return result
        exe = os.path.join(self.dir, name)
        cmd = [compiler(), *flags, "-I", HERE, "-o", exe, os.path.join(HERE, source), *libs, "-lm"]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            lines = (proc.stderr or proc.stdout).strip().splitlines()
            result = Skip("could not compile %s (%s): %s" % (source, " ".join(cmd[1:-1]), lines[0] if lines else "?"))
            self._built[name] = result
            raise result
        self._built[name] = exe
        return exe

    def problem_file(self, wl, epochs=None):
        """Write workload ``wl`` as a problem file (bench_data.h) and return its path."""
        epochs = epochs or wl.epochs
        path = os.path.join(self.dir, "%s-%d.bin" % (wl.key, epochs))
        if os.path.exists(path):
            return path
        with open(path, "wb") as f:
            f.write(struct.pack("<i", len(wl.sizes)))
            f.write(struct.pack("<%di" % len(wl.sizes), *wl.sizes))
            f.write(struct.pack("<iid", wl.n_rows, epochs, wl.lr))
            from plainnet._contract import flatten  # plainnet's flat parameter layout

            flat = flatten(wl.W0, wl.B0)
            f.write(struct.pack("<%dd" % len(flat), *flat))
            f.write(wl.X.astype("<f8").tobytes())
            f.write(wl.T.astype("<f8").tobytes())
        return path


class NativeTrain(Runner):
    """A C program that trains on the problem file and reports its own timing."""

    timed_in = "C (clock_gettime around the training loop)"

    def __init__(self, exe, problem, steps, params_out=None):
        super().__init__(steps)
        self.cmd = [exe, problem] + ([params_out] if params_out else [])
        self.params_out = params_out
        self.last = {}

    def run(self):
        proc = subprocess.run(self.cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError("%s failed: %s" % (self.cmd[0], proc.stderr.strip()))
        fields = dict(line.split(None, 1) for line in proc.stdout.strip().splitlines())
        self.last = {k: float(v) for k, v in fields.items()}
        return self.last["step_ns"] * 1e-9 * self.steps

    def measure_quality(self):
        return {"accuracy": "%.4f" % self.last["accuracy"]}

    def final_params(self, sizes):
        """The weights and biases the last run ended with, as nested lists (None if not saved)."""
        if self.params_out is None:
            return None
        with open(self.params_out, "rb") as f:
            data = f.read()
        # imported here, not at the top: run.py chooses which plainnet (src/ or installed) first
        from plainnet._contract import unflatten

        return unflatten(struct.unpack("<%dd" % (len(data) // 8), data), sizes)


def limit_runner(builder, wl, build):
    tag = build.replace(", ", "-")
    exe = builder.build("limit-" + tag, "limit.c", LIMIT_BUILDS[build])
    out = os.path.join(builder.dir, "%s-limit-%s.params" % (wl.key, tag))
    return NativeTrain(exe, builder.problem_file(wl), wl.n_rows * wl.epochs, out)


def fann_runner(builder, wl):
    if not os.path.exists("/usr/include/doublefann.h"):
        raise Skip("FANN's doublefann.h is not installed (apt-get install libfann-dev)")
    exe = builder.build("fann", "fann_driver.c", ["-O2"], ["-ldoublefann"])
    return NativeTrain(exe, builder.problem_file(wl), wl.n_rows * wl.epochs)


def fann_version():
    try:
        out = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "libfann-dev"],
                             capture_output=True, text=True, timeout=30)
        return out.stdout.strip() or "not installed"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


#: The two builds of peak.c: name -> compiler flags (-O2, as the issue asks).
PEAK_BUILDS = {
    "mul+add": ["-O2", "-mavx2", "-ffp-contract=off"],
    "fma": ["-O2", "-mavx2", "-mfma", "-DPEAK_FMA"],
}


def peak_gflops(builder, build, runs=3, seconds=0.2):
    """GFLOP/s of each of ``runs`` runs of peak.c built as ``build`` (see PEAK_BUILDS):
    12 independent 256-bit float64 chains on one core, timed inside C."""
    exe = builder.build("peak-" + build.replace("+", ""), "peak.c", PEAK_BUILDS[build])
    out = []
    for _ in range(runs):
        proc = subprocess.run([exe, "0.999", "0.001", repr(seconds)], capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError("%s failed: %s" % (exe, proc.stderr.strip()))
        fields = dict(line.split(None, 1) for line in proc.stdout.strip().splitlines())
        out.append(float(fields["gflops"]))
    return out
