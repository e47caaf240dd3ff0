"Bad input gets a clear answer: one row per case, each asserting the exit status, a message naming the file or parameter, no traceback, and that earlier results are intact."
import hashlib, shutil
from pathlib import Path

import pytest

from conftest import cli


@pytest.fixture(scope='module')
def world(demo4, demo_run, tmp_path_factory):
    "Folders and files the cases point at, and an earlier reports folder whose summary must survive every failed call."
    t = tmp_path_factory.mktemp('bad')
    (t/'a_file').write_text('not a folder'); (t/'empty').mkdir()
    (t/'bad.yaml').write_text('epochs: [1,\n')
    cli('demo-data', t/'one_actor', '--actors', 1, check=True)
    reports = t/'reports'; shutil.copytree(demo_run[0], reports)
    _damaged_models(t)
    return dict(t=t, demo4=demo4, reports=reports)


def _damaged_models(t):
    "A saved (untrained) model, and copies of it damaged five ways: bytes flipped inside its weights, a NaN weight, another model's weights; its ONNX twin with a weight edited, and cut short."
    import torch
    from ravdess_emo.models import make_model
    from ravdess_emo.predict import save_model, weights_digest
    model = make_model('emo_cnn', (1, 64, 151))
    save_model(t/'good.pt', model, 'emo_cnn', (1, 64, 151), dict(extractor='logmel', settings={}))
    raw = bytearray((t/'good.pt').read_bytes()); at = raw.find(model.state_dict()['head.weight'].numpy().tobytes()[:32])
    raw[at:at+64] = bytes(reversed(raw[at:at+64])); (t/'flipped.pt').write_bytes(bytes(raw))
    blob = torch.load(t/'good.pt', weights_only=True)
    blob['state_dict']['head.bias'][0] = float('nan'); blob['weights_sha256'] = weights_digest(blob['state_dict'])
    torch.save(blob, t/'nan.pt')
    blob = torch.load(t/'good.pt', weights_only=True)
    blob['state_dict']['head.weight'] = torch.zeros(3, 3); blob['weights_sha256'] = weights_digest(blob['state_dict'])
    torch.save(blob, t/'other.pt')
    import onnx
    g = onnx.load(str(t/'good.onnx')); g.graph.initializer[0].raw_data = bytes(len(g.graph.initializer[0].raw_data)); onnx.save(g, str(t/'edited.onnx'))
    (t/'cut.onnx').write_bytes((t/'good.onnx').read_bytes()[:1000])


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
    ('predict with a damaged model file', lambda w: ['predict', w['t']/'flipped.pt', w['t']/'x.wav'], 2, 'flipped.pt: the model file is damaged (CRC error'),
    ('predict with non-finite weights', lambda w: ['predict', w['t']/'nan.pt', w['t']/'x.wav'], 2, 'nan.pt: the model has non-finite weights'),
    ('predict with weights of another shape', lambda w: ['predict', w['t']/'other.pt', w['t']/'x.wav'], 2, "other.pt: the model's description and weights do not fit"),
    ('predict with an edited ONNX twin', lambda w: ['predict', w['t']/'edited.onnx', w['t']/'x.wav'], 2, 'edited.onnx: the graph does not match its checksum'),
    ('predict with a cut ONNX twin', lambda w: ['predict', w['t']/'cut.onnx', w['t']/'x.wav'], 2, 'cut.onnx: not an ONNX model file'),
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


def test_vanished_files_are_accounted_for(world, tmp_path):
    import shutil
    corpus = tmp_path/'corpus'; shutil.copytree(world['demo4']/'Actor_01', corpus/'Actor_01')
    (corpus/'Actor_01'/'03-01-02-02-02-02-09.wav').symlink_to(tmp_path/'gone.wav')  # broken
    (corpus/'Actor_01'/'loop.wav').symlink_to(corpus/'Actor_01'/'loop.wav')  # loops
    (corpus/'Actor_02').symlink_to(world['demo4']/'Actor_02')  # a linked folder: used
    r = cli('check', corpus)
    out = r.stdout + r.stderr
    assert r.returncode == 0 and 'Traceback' not in out, out
    assert '03-01-02-02-02-02-09.wav: a broken symbolic link' in r.stdout and 'loop.wav: a symbolic link that loops' in r.stdout, r.stdout
    assert '120 speech files' in r.stdout, r.stdout


def test_disk_full_loses_nothing(world, tmp_path):
    "A run on a file system that fills up: a clear error naming the path, and the earlier report and summary intact."
    import os, subprocess
    mnt = tmp_path/'small'; mnt.mkdir()
    if subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', str(mnt)], capture_output=True).returncode:
        pytest.skip('cannot mount a small file system here (mounting needs root)')
    try:
        reports = mnt/'reports'
        cli('run', '00_data', '--data', world['demo4'], '--out', reports, '--quiet', check=True)
        before = _digests(reports)
        fd = os.open(mnt/'filler', os.O_WRONLY | os.O_CREAT)
        try:
            while os.write(fd, bytes(1 << 16)): pass
        except OSError: pass
        finally: os.close(fd)
        r = cli('run', '00_data', '--data', world['demo4'], '--out', reports, '--quiet', '--fresh')
        out = r.stdout + r.stderr
        assert r.returncode != 0 and 'Traceback' not in out, out
        assert str(reports) in out and ('No space left' in out or 'cannot write there' in out), out
        after = _digests(reports)
        assert {p: after.get(p) for p in before} == before, out  # every earlier file is there, byte for byte
    finally:
        subprocess.run(['umount', '-l', str(mnt)], capture_output=True)
