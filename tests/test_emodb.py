"EmoDB as a user points the command line at it: check, a speaker-independent run, predict, and the cross-corpus experiment."
import json, os

import pytest

from conftest import cli

QUICK = ['--set', 'epochs=1', '--set', 'folds=[1]', '--quiet']


@pytest.fixture(scope='module')
def env(tmp_path_factory):
    return dict(os.environ, RAVDESS_EMO_CACHE=str(tmp_path_factory.mktemp('cache')))


def test_check_emodb(emodb):
    r = cli('check', emodb, '--json', check=True)
    rep = json.loads(r.stdout)
    assert (rep['corpus'], rep['n_files'], len(rep['actors']), len(rep['by_emotion'])) == ('emodb', 535, 10, 7)
    assert rep['by_emotion']['anger'] == 127 and rep['by_emotion']['disgust'] == 46 and rep['problems'] == []
    text = cli('check', emodb, check=True).stdout
    assert 'EmoDB (Burkhardt et al. 2005)): 535 speech files from 10 actors' in text and 'emotions (7)' in text


@pytest.fixture(scope='module')
def emodb_run(emodb, env, tmp_path_factory):
    out = tmp_path_factory.mktemp('reports')
    r = cli('run', '01_spectrogram_cnn', '--data', emodb, '--out', out, *QUICK, '--set', 'train_final=true', env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    return out


def test_run_on_emodb_is_speaker_independent_with_seven_classes(emodb_run):
    run_dir = next((emodb_run/'01_spectrogram_cnn').iterdir())
    m = json.loads((run_dir/'metrics.json').read_text())
    assert m['protocol'] == 'si5' and m['corpus']['name'] == 'emodb' and len(m['corpus']['classes']) == 7
    fold = m['folds'][0]
    assert fold['test_actors'] == [3, 8] and not set(fold['val_actors']) & {3, 8}
    assert sorted(fold['metrics']['per_class']) == sorted(['neutral', 'anger', 'boredom', 'disgust', 'fear', 'happiness', 'sadness'])
    summary = (emodb_run/'summary.md').read_text()
    row = next(line for line in summary.splitlines() if line.startswith('| 01_spectrogram_cnn | emodb `'))
    assert '535 files' in row and '| 1/5 |' in row and 'synthetic' not in row and '## si5' in summary


def test_predict_with_an_emodb_model(emodb_run, emodb):
    run_dir = next((emodb_run/'01_spectrogram_cnn').iterdir())
    r = cli('predict', run_dir, emodb/'03a01Wa.wav', '--json', check=True)
    result = json.loads(r.stdout)
    assert set(result['probabilities']) == {'neutral', 'anger', 'boredom', 'disgust', 'fear', 'happiness', 'sadness'}


QUICK_CNN = '{optimizer: adamw, schedule: onecycle, lr: 0.003, weight_decay: 0.01, epochs: 1, select: last, patience: null}'  # the default CNN recipe, one epoch


def test_cross_corpus_both_directions(demo4, emodb, env, tmp_path):
    r = cli('run', '06_cross_corpus', '--data', demo4, '--set', f'other={emodb}', '--out', tmp_path, '--quiet',
            '--set', 'epochs=1', '--set', 'encoder_recipe={epochs: 3}', '--set', 'branches=[spectrogram]', '--set', f'cnn_recipe={QUICK_CNN}', env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    m = json.loads((next((tmp_path/'06_cross_corpus').iterdir())/'metrics.json').read_text())
    assert m['protocol'] == 'xcorpus' and m['shared_emotions'] == ['neutral', 'happy', 'sad', 'angry', 'fearful', 'disgust']
    assert set(m['variants']) == {'spectrogram: ravdess-demo -> emodb', 'spectrogram: emodb within (si5, 5 folds)',
                                  'spectrogram: emodb -> ravdess-demo', 'spectrogram: ravdess-demo within (si6, 4 folds)',
                                  *(f'spectrogram, {how}-standardised: {d}' for how in ('corpus', 'speaker') for d in ('ravdess-demo -> emodb', 'emodb -> ravdess-demo'))}
    # configs/default.yaml standardises every branch per corpus and per speaker too: the CNN's bands, each with its own corpus's (speaker's) unlabelled clips
    assert m['folds'][0]['n_test'] == 535 - 81  # every EmoDB file but boredom's
    assert m['other_corpus']['name'] == 'emodb'
    assert m['params']['cnn_recipe']['schedule'] == 'onecycle' and m['params']['precision'] == 'auto'  # configs/default.yaml's CNN recipe and arithmetic reach 06's CNN branch
