"The library's chapters (00_*) under nbdev_test, one test each: the notebooks are the library's unit tests. The experiment chapters are in test_notebooks_experiments.py (two files, so that two test workers share them)."
import pytest

from conftest import ROOT, nbdev_test

NOTEBOOKS = sorted(p.name for p in (ROOT/'nbs').glob('00*.ipynb'))


def test_notebooks_found():
    assert {'00_data.ipynb', '00d_learner.ipynb'} <= set(NOTEBOOKS)


@pytest.mark.parametrize('nb', NOTEBOOKS)
def test_notebook(nb, tmp_path):
    nbdev_test(nb, tmp_path)
