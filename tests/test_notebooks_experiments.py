"The experiment chapters and the tools around them (01_* to 11_*) under nbdev_test, one test each."
import pytest

from conftest import ROOT, nbdev_test

NOTEBOOKS = sorted(p.name for p in (ROOT/'nbs').glob('[0-9]*.ipynb') if not p.name.startswith('00'))


def test_notebooks_found():
    assert {'01_spectrogram_cnn.ipynb', '05_whisper_encoder.ipynb', '11_sweep.ipynb'} <= set(NOTEBOOKS)
    every = {p.name for p in (ROOT/'nbs').glob('[0-9]*.ipynb')}
    assert set(NOTEBOOKS) | {p.name for p in (ROOT/'nbs').glob('00*.ipynb')} == every  # each numbered notebook is tested in one of the two files


@pytest.mark.parametrize('nb', NOTEBOOKS)
def test_notebook(nb, tmp_path):
    nbdev_test(nb, tmp_path)
