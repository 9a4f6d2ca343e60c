"""Shared fixtures: every test that takes ``backend`` runs once per available backend."""

import os
import random
import signal
import threading
import time

import pytest

import plainnet

BACKENDS = plainnet.available_backends()

# The folder holding the plainnet under test (src/ or site-packages), for
# tests that run it in a child process.
PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(plainnet.__file__)))


def env_with_package():
    """os.environ for a child process that imports the plainnet under test."""
    env = dict(os.environ)
    env["PYTHONPATH"] = PACKAGE_PARENT
    return env

# The tutorial's data: weight minus 135 lb, height minus 66 in; 1 = F, 0 = M.
TUTORIAL_DATA = [[-2.0, -1.0], [25.0, 6.0], [17.0, 4.0], [-15.0, -6.0]]
TUTORIAL_TARGETS = [1.0, 0.0, 0.0, 1.0]
EMILY = [-7.0, -3.0]
FRANK = [20.0, 2.0]


def random_data(n_rows, n_in, n_out, seed=0):
    """Reproducible (data, targets): inputs uniform in [-1, 1], targets in [0, 1]."""
    rng = random.Random(seed)
    data = [[rng.uniform(-1, 1) for _ in range(n_in)] for _ in range(n_rows)]
    targets = [[rng.uniform(0, 1) for _ in range(n_out)] for _ in range(n_rows)]
    return data, targets


def send_ctrl_c():
    """What Ctrl-C does, from any thread: a SIGINT, which the interpreter
    turns into KeyboardInterrupt in the main thread.  Sent to the main thread
    itself, so that it also ends a sleep or a wait there (sent to the
    process, it may land in the sending thread, which wakes nothing)."""
    if hasattr(signal, "pthread_kill"):
        signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)
    elif os.name == "posix":
        os.kill(os.getpid(), signal.SIGINT)
    else:  # Windows: os.kill cannot send a SIGINT that the process itself handles
        import _thread
        _thread.interrupt_main()


def ctrl_c_during(run, after=0.0, when=None, resend_after=5.0):
    """Run ``run()`` (a Python function) here, in the main thread, while
    another thread presses Ctrl-C (send_ctrl_c) ``after`` seconds into it, or
    once ``when()`` is true.  Returns the seconds from sending the Ctrl-C that
    stopped ``run()`` to its KeyboardInterrupt arriving here, or None if
    ``run()`` returned first.

    A Ctrl-C becomes a KeyboardInterrupt only while ``run()`` is on the main
    thread's stack: the handler looks for its frame.  One that reaches the
    handler a moment before ``run()`` is called (the main thread still in
    Thread.start) or after it returned is dropped, so none can escape into
    the test.  The interpreter may drop one too: it runs the signal handler
    wherever the main thread is, a garbage collector's weakref callback
    included, and an exception raised there is only reported as "ignored"
    (PyPy 3.9, about 1 run in 20 of the Ctrl-C tests, which then hung).  So
    a Ctrl-C whose handler ran but whose KeyboardInterrupt has not arrived
    after ``resend_after`` seconds is sent again."""
    code = run.__code__
    sent, handled = [], []  # perf_counter() of each Ctrl-C sent, of each run of the handler
    go, over = threading.Event(), threading.Event()
    sending = threading.Lock()  # held while deciding to send and sending

    def handler(signum, frame):
        handled.append(time.perf_counter())
        while frame is not None and frame.f_code is not code:
            frame = frame.f_back
        if frame is not None:
            raise KeyboardInterrupt

    def press():
        go.wait()
        deadline = time.perf_counter() + 30.0
        if when is None:
            over.wait(after)
        else:
            while not when() and time.perf_counter() < deadline and not over.wait(0.002):
                pass
        while True:
            with sending:
                if over.is_set():
                    return
                seen = len(handled)
                sent.append(time.perf_counter())
                send_ctrl_c()
            while len(handled) == seen and not over.wait(0.001):
                pass
            if over.wait(resend_after):
                return

    previous = signal.signal(signal.SIGINT, handler)
    presser = threading.Thread(target=press)
    stopped = None
    try:
        presser.start()
        try:
            go.set()
            run()
        except KeyboardInterrupt:
            stopped = time.perf_counter()
    finally:
        go.set()
        with sending:
            over.set()
        if presser.ident is not None:
            presser.join()
        # Every Ctrl-C sent reaches the handler (which now drops it) before
        # the test's own handler comes back.
        deadline = time.perf_counter() + 2.0
        while len(handled) < len(sent) and time.perf_counter() < deadline:
            time.sleep(0.001)
        signal.signal(signal.SIGINT, previous)
    return None if stopped is None else stopped - sent[-1]


def both_backends(sizes, seed, **kwargs):
    """The same network on the Python and on the C backend: (python, c)."""
    return tuple(plainnet.Network(sizes, seed=seed, backend=b, **kwargs) for b in ("python", "c"))


@pytest.fixture(params=BACKENDS)
def backend(request):
    """The name of a backend available here: "c" and "python", or "python" alone."""
    return request.param


def pytest_report_header(config):
    return "plainnet %s from %s; backends: %s" % (
        plainnet.__version__,
        os.path.dirname(plainnet.__file__),
        ", ".join(BACKENDS),
    )
