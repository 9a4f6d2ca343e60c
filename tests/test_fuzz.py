"""Bounded runs of the coverage-guided fuzzer (tools/fuzz_load.py) when atheris is installed.

Hypothesis-based fuzzing of the same inputs runs everywhere (test_reliability.py);
this adds libFuzzer's coverage guidance where atheris is available (CI installs it).
"""

import os
import subprocess
import sys

import pytest

from conftest import env_with_package

FUZZER = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tools", "fuzz_load.py")


def test_fuzz_model_files_with_atheris(tmp_path):
    pytest.importorskip("atheris", reason="atheris is not installed (CI installs it)")
    if not os.path.exists(FUZZER):
        pytest.skip("tools/fuzz_load.py is not in this checkout")
    env = env_with_package()
    proc = subprocess.run([sys.executable, FUZZER, "-runs=5000", "-seed=1", str(tmp_path)],
                          env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "Done 5000 runs" in proc.stdout
