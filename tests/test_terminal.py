"""Training progress: redrawn in place on a terminal, plain lines anywhere else."""

import io
import os
import re
import subprocess
import sys
import time

import pytest

from plainnet.cli import Progress
from conftest import env_with_package

EPOCHS = 3000
REDRAW = re.compile(r"\r(?!\n)")  # a carriage return that is not the pty's end of line
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # anything but tab and newline


def _command(tmp_path):
    data = tmp_path / "people.csv"
    data.write_text("weight,height,female\n-2,-1,1\n25,6,0\n17,4,0\n-15,-6,1\n-7,-3,1\n20,2,0\n")
    return [sys.executable, "-m", "plainnet", "train", str(data), "--target", "female",
            "--epochs", str(EPOCHS), "--seed", "0", "-o", str(tmp_path / "m.json")]


@pytest.mark.skipif(os.name != "posix", reason="needs a pseudo-terminal")
def test_progress_on_a_terminal_is_redrawn_in_place(tmp_path):
    master, slave = os.openpty()
    start = time.monotonic()
    proc = subprocess.Popen(_command(tmp_path), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=slave, env=env_with_package(), cwd=str(tmp_path))
    os.close(slave)
    chunks = []
    try:
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        stdout = proc.stdout.read()
        proc.wait(timeout=60)
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
    wall = time.monotonic() - start
    err = b"".join(chunks).decode("utf-8")
    assert proc.returncode == 0, err
    assert b"saved" in stdout
    redraws = REDRAW.findall(err)
    # the first and the last epoch are always drawn; at most 10 redraws a second between
    assert 2 <= len(redraws) <= 10 * wall + 3, (len(redraws), wall)
    last = err.rstrip().split("\r")[-1]
    assert "epoch %d/%d" % (EPOCHS, EPOCHS) in last and "loss" in last and "left" in last
    assert err.endswith("\n")  # the bar's line is ended before the process exits


def test_progress_elsewhere_is_plain_lines(tmp_path):
    with open(str(tmp_path / "progress.txt"), "w") as log:
        proc = subprocess.run(_command(tmp_path), stdout=subprocess.PIPE, stderr=log,
                              env=env_with_package(), cwd=str(tmp_path), timeout=60)
    assert proc.returncode == 0
    err = (tmp_path / "progress.txt").read_text()
    assert "\r" not in err and "\x1b" not in err and not CONTROL.search(err)
    lines = err.splitlines()
    assert lines[0].startswith("training Network([2, 16, 1]")
    # one line at each tenth of the epochs
    assert [l.split()[1] for l in lines[1:]] == ["%d/%d" % (k * EPOCHS // 10, EPOCHS) for k in range(1, 11)]


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_terminal_redraws_are_throttled():
    clock = FakeClock()
    stream = io.StringIO()
    progress = Progress(stream, 1000, terminal=True, rate=10.0, clock=clock)
    for epoch in range(1, 1001):
        clock.now += 0.001  # 1 ms an epoch: 1 s in all
        progress.update(epoch, 0.5)
    progress.close()
    text = stream.getvalue()
    draws = text.split("\r")[1:]
    # epoch 1, then one every 0.1 s, then the last: about 11 in a second, not 1000
    assert 10 <= len(draws) <= 12
    assert "epoch    1/1000" in draws[0] and "epoch 1000/1000" in draws[-1]
    assert text.endswith("\n")
    # a shorter line is padded, so no stale characters remain from a longer one
    assert all(len(d.rstrip("\n")) >= len(draws[0]) for d in draws)


def test_remaining_time_estimate():
    clock = FakeClock()
    stream = io.StringIO()
    progress = Progress(stream, 100, terminal=False, clock=clock)
    clock.now += 30.0
    progress.update(25, 0.25)  # a quarter done in 30 s: 90 s to go
    assert stream.getvalue() == "epoch  25/100  loss 0.25  elapsed 0:30  left 1:30\n"
