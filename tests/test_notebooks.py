"Every notebook under nbdev_test, one test each: the notebooks are the library's unit tests."
import subprocess, sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(p.name for p in (ROOT/'nbs').glob('[0-9]*.ipynb'))


def test_notebooks_found():
    assert '00_data.ipynb' in NOTEBOOKS


@pytest.mark.parametrize('nb', NOTEBOOKS)
def test_notebook(nb):
    r = subprocess.run([str(Path(sys.executable).parent/'nbdev_test'), '--path', f'nbs/{nb}', '--do_print'],
                       cwd=ROOT, capture_output=True, text=True, timeout=1800)
    assert r.returncode == 0, f"nbdev_test failed on {nb}:\n{r.stdout[-6000:]}\n{r.stderr[-6000:]}"
