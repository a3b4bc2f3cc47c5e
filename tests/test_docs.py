"""Every Python block of README.md and docs/*.md runs as written.

Each page's blocks run in order, as one program, in a fresh interpreter in an empty folder
(a page that defines something in one block uses it in the next, as a reader would), on the
numpy backend. A page whose examples need an optional package skips when it is missing.
"""

from __future__ import annotations

import glob
import importlib.util
import os
import re
import subprocess
import sys

import pytest

from conftest import ROOT

PAGES = [os.path.join(ROOT, "README.md")] + sorted(glob.glob(os.path.join(ROOT, "docs", "*.md")))
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
#: Packages a page's examples import that xpnet itself does not need.
OPTIONAL = ("sklearn", "joblib", "pandas", "matplotlib", "dask", "distributed", "mpi4py")


def blocks(path):
    with open(path, encoding="utf-8") as f:
        return BLOCK.findall(f.read())


@pytest.mark.parametrize("page", [p for p in PAGES if blocks(p)],
                         ids=lambda p: os.path.relpath(p, ROOT))
def test_the_python_blocks_of_a_page_run_as_written(page, tmp_path):
    code = "\n\n".join(blocks(page))
    for name in OPTIONAL:
        if re.search(rf"^\s*(import|from) {name}\b", code, re.M) and \
                importlib.util.find_spec(name) is None:
            pytest.skip(f"the examples of {os.path.basename(page)} need {name}")
    env = dict(os.environ, XPNET_BACKEND="numpy", MPLBACKEND="Agg",
               PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, (f"{os.path.relpath(page, ROOT)}: its Python blocks fail:\n"
                                  f"{proc.stderr[-3000:]}")
