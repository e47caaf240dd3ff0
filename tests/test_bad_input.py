"Bad input gets a clear answer: one row per case, each asserting the exit status, a message naming the file or parameter, no traceback, and that earlier results are intact."
import hashlib
from pathlib import Path

import pytest

from conftest import cli


@pytest.fixture(scope='module')
def world(demo4, tmp_path_factory):
    "Folders and files the cases point at, and an earlier reports folder whose summary must survive every failed call."
    t = tmp_path_factory.mktemp('bad')
    (t/'a_file').write_text('not a folder'); (t/'empty').mkdir()
    (t/'bad.yaml').write_text('epochs: [1,\n')
    cli('demo-data', t/'one_actor', '--actors', 1, check=True)
    reports = t/'reports'
    cli('run', '00_data', '--data', demo4, '--out', reports, '--quiet', check=True)
    return dict(t=t, demo4=demo4, reports=reports)


def _digests(folder):
    "Content digest of every file under a folder."
    return {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(Path(folder).rglob('*')) if p.is_file()}


RUN = ['run', '01_spectrogram_cnn', '--quiet']
CASES = [  # (case, arguments, exit status, what the message must say)
    ('corpus folder missing', lambda w: [*RUN, '--data', w['t']/'nowhere', '--out', w['reports']], 2, 'nowhere: no such folder'),
    ('corpus is a file', lambda w: [*RUN, '--data', w['t']/'a_file', '--out', w['reports']], 2, 'a_file: is a file'),
    ('corpus folder empty', lambda w: [*RUN, '--data', w['t']/'empty', '--out', w['reports']], 2, 'empty'),
    ('one actor, speaker-independent', lambda w: [*RUN, '--data', w['t']/'one_actor', '--out', w['reports']], 2, 'too few for 01_spectrogram_cnn under protocol si'),
    ('--out is a file', lambda w: [*RUN, '--data', w['demo4'], '--out', w['t']/'a_file'], 2, 'a_file: exists and is not a folder'),
    ('--out cannot be written', lambda w: [*RUN, '--data', w['demo4'], '--out', '/proc/ravdess-emo-reports'], 2, '/proc/ravdess-emo-reports: cannot write there'),
    ('--set of the wrong type', lambda w: [*RUN, '--data', w['demo4'], '--out', w['reports'], '--set', 'epochs=one'], 2, 'parameter epochs should be a whole number'),
    ('--set of a parameter no notebook has', lambda w: [*RUN, '--data', w['demo4'], '--out', w['reports'], '--set', 'epoch=3'], 2, "unknown parameter(s) ['epoch']"),
    ('--set value not YAML', lambda w: [*RUN, '--data', w['demo4'], '--out', w['reports'], '--set', 'folds=[1,'], 2, '--set folds=[1,: the value is not valid YAML'),
    ('malformed YAML config', lambda w: [*RUN, '--data', w['demo4'], '--out', w['reports'], '-f', w['t']/'bad.yaml'], 2, 'bad.yaml, line 2, column 1: not valid YAML'),
    ('fold that does not exist', lambda w: [*RUN, '--data', w['demo4'], '--out', w['reports'], '--set', 'folds=[9]'], 2, 'fold(s) [9] not available'),
    ('check on a file', lambda w: ['check', w['t']/'a_file'], 2, 'a_file: is a file'),
    ('demo-data into a file', lambda w: ['demo-data', w['t']/'a_file', '--actors', '1'], 2, 'a_file: exists and is not a folder'),
    ('predict with no model', lambda w: ['predict', w['t']/'none.pt', w['t']/'x.wav'], 2, 'none.pt: no saved model'),
    ('predict --top -1', lambda w: ['predict', w['t']/'none.pt', w['t']/'x.wav', '--top', '-1'], 2, 'expected a whole number of at least 1'),
]


@pytest.mark.parametrize('case,args,status,message', CASES, ids=[c[0] for c in CASES])
def test_bad_input_gets_a_clear_answer(world, case, args, status, message):
    before = _digests(world['reports'])
    r = cli(*args(world))
    out = r.stdout + r.stderr
    assert r.returncode == status, out
    assert message in r.stderr, out
    assert 'Traceback' not in out, out
    assert _digests(world['reports']) == before  # the earlier report and summary are untouched


def test_truncated_audio_is_a_problem_by_path(world, tmp_path):
    import shutil
    corpus = tmp_path/'corpus'; shutil.copytree(world['demo4']/'Actor_01', corpus/'Actor_01')
    wavs = sorted((corpus/'Actor_01').glob('*.wav'))
    wavs[0].write_bytes(wavs[0].read_bytes()[:-4000])  # the data chunk shorter than its header says
    wavs[1].write_bytes(wavs[1].read_bytes()[:44])  # the header alone
    r = cli('check', corpus)
    assert r.returncode == 0 and 'Traceback' not in r.stdout + r.stderr, r.stdout + r.stderr  # the other 58 files are usable
    for w in wavs[:2]: assert f"{w.name}: truncated: its header announces" in r.stdout, r.stdout
    assert '58 speech files' in r.stdout
