"The main job and predict as a user runs them: ravdess-emo run, its reports and summary, then ravdess-emo predict."
import json, os, shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import torch

from conftest import QUICK, cli


@pytest.fixture(scope='module')
def env(demo_run):
    "The session run's own cache, so the tests can see what is computed and what is served from it."
    return demo_run[2]


@pytest.fixture(scope='module')
def first_run(demo_run):
    "`00_data` and a quick `01_spectrogram_cnn` with its final model (`conftest.demo_run`): (reports folder, completed process)."
    return demo_run[:2]


def _run_dirs(out, exp='01_spectrogram_cnn'):
    return sorted((out/exp).iterdir())


def test_run_writes_report_metrics_and_summary(first_run):
    out, r = first_run
    assert f"{out/'index.html'}" in r.stdout and f"{out/'summary.md'}" in r.stdout  # the console names the page and the summary
    run_dir = _run_dirs(out)[0]
    names = {p.name for p in run_dir.iterdir()}
    assert {'01_spectrogram_cnn.ipynb', 'report.html', 'metrics.json', 'run.json', 'fold1.pt', 'model.pt',
            'predictions.csv', 'confusion.png', 'training_curves.png'} <= names
    m = json.loads((run_dir/'metrics.json').read_text())
    assert m['experiment'] == '01_spectrogram_cnn' and m['protocol'] == 'si6'
    assert m['params']['epochs'] == 2 and m['params']['folds'] == [1]
    assert [f['test_actors'] for f in m['folds']] == [[1]]
    for k in ['ua', 'wa', 'f1_macro', 'precision_macro', 'recall_macro', 'auc_ovr', 'mcc']:
        assert set(m['summary'][k]) == ({'mean', 'std', 'ci'} if k in ('ua', 'wa') else {'mean', 'std'}), k
        assert (-1 if k == 'mcc' else 0) <= m['summary'][k]['mean'] <= 1, k
    assert m['summary']['std_of'] == 'folds' and m['summary']['ddof'] == 1
    lo, hi = m['summary']['ua']['ci']
    assert lo <= m['summary']['ua']['mean'] <= hi and m['summary']['ci']['n_boot'] == 1000
    assert (m['folds_run'], m['epochs'], m['threads'], m['fold_seeds']) == ('1/6', 2, os.cpu_count(), {'fold1': 0})
    assert m['input'].startswith('log-mel arrays') and m['model'].startswith('emo_cnn')
    assert (m['corpus']['name'], m['corpus']['synthetic'], len(m['corpus']['classes'])) == ('ravdess-demo', True, 8)
    assert m['git']['commit'] and m['corpus']['n_files'] == 240 and m['timings']['features'] >= 0
    summary = (out/'summary.md').read_text()
    row = next(line for line in summary.splitlines() if line.startswith('| 01_spectrogram_cnn | ravdess-demo'))
    cells = [c.strip() for c in row.split('|')[1:-1]]
    assert cells[1] == f"ravdess-demo `{m['corpus']['listing_sha256'][:8]}` 240 files (synthetic)" and cells[4:7] == ['2', '1/6', '0'], cells
    assert cells[11] == 'default+set' and cells[15] == 'synthetic corpus; partial: 1/6 folds', cells
    assert summary.index('## si6') < summary.index('## random70') and 'seed notebook' in summary and 'EmoBox' in summary
    assert (out/'summary.csv').exists() and (out/'summary.png').exists()
    html = (run_dir/'report.html').read_text()
    assert 'cross_validate(' not in html  # no code in the HTML copy


def test_retraining_is_bit_identical_and_features_are_served_from_cache(first_run, demo4, env, tmp_path):
    out, _ = first_run
    cache = Path(env['RAVDESS_EMO_CACHE'])
    features = lambda: {p: p.stat().st_mtime_ns for p in cache.rglob('*.npy') if 'folds' not in p.relative_to(cache).parts}
    stamps = features()
    assert len(stamps) == 240
    # --fresh, in a copy of the reports: executed again beside the finished run (not reused), every fold trained again, with the same seed and thread count
    again = tmp_path/'reports'; shutil.copytree(out, again)
    r = cli('run', '01_spectrogram_cnn', '--data', demo4, '--out', again, *QUICK, '--set', 'train_final=true', '--fresh', env=env)
    assert r.returncode == 0, r.stderr
    first, second = (json.loads((d/'metrics.json').read_text()) for d in _run_dirs(again))
    assert first['summary'] == second['summary'] and first['folds'][0]['metrics'] == second['folds'][0]['metrics']
    assert not second['folds'][0]['reused'] and features() == stamps  # trained again; no feature recomputed


def test_unknown_parameter_is_refused_before_running(demo4, tmp_path):
    r = cli('run', '01_spectrogram_cnn', '--data', demo4, '--out', tmp_path, '--set', 'epoch=3')
    assert r.returncode == 2
    assert "unknown parameter(s) ['epoch']" in r.stderr and 'epochs' in r.stderr
    assert not (tmp_path/'01_spectrogram_cnn').exists()


def test_failing_notebook_keeps_partial_report(demo4, env, tmp_path):
    r = cli('run', '00_data', '01_spectrogram_cnn', '--data', demo4, '--out', tmp_path, *QUICK, '--set', 'model=resnet', env=env)
    assert r.returncode == 1
    assert 'FAILED 01_spectrogram_cnn' in r.stderr and "unknown model 'resnet'" in r.stdout
    run_dir = _run_dirs(tmp_path)[0]
    info = json.loads((run_dir/'run.json').read_text())
    assert info['status'] == 'failed' and info['error']['ename'] == 'ValueError'
    assert "unknown model 'resnet'" in (run_dir/'01_spectrogram_cnn.ipynb').read_text()
    assert len(_run_dirs(tmp_path, '00_data')) == 1  # the other experiment still ran
    assert 'failed (at cell' in (tmp_path/'summary.md').read_text()


@pytest.fixture(scope='module')
def audio_files(demo4, tmp_path_factory):
    "A demo file, RAVDESS-like 48 kHz 16-bit WAV, stereo 44.1 kHz FLAC, a 10-minute file, a 0.2 s file, a corrupt file."
    import librosa
    d = tmp_path_factory.mktemp('audio')
    demo = sorted((demo4/'Actor_03').glob('*.wav'))[10]
    y, sr = sf.read(demo, dtype='float32')
    sf.write(d/'ravdess_like.wav', librosa.resample(y, orig_sr=sr, target_sr=48000), 48000, subtype='PCM_16')
    y44 = librosa.resample(y, orig_sr=sr, target_sr=44100)
    sf.write(d/'stereo.flac', np.stack([y44, 0.5*y44], 1), 44100)
    sf.write(d/'ten_minutes.wav', np.tile(y, 600*sr//len(y) + 1)[:600*sr], sr)
    sf.write(d/'short.wav', y[:int(0.2*sr)], sr)
    (d/'corrupt.wav').write_bytes(b'RIFF$\x00\x00\x00WAVEfmt garbage')
    return [demo, d/'ravdess_like.wav', d/'stereo.flac', d/'ten_minutes.wav', d/'short.wav', d/'corrupt.wav']


def test_predict_scores_every_readable_file(first_run, audio_files):
    run_dir = _run_dirs(first_run[0])[0]
    r = cli('predict', run_dir, *audio_files, '--json')
    assert r.returncode == 1  # one file failed
    results = [json.loads(line) for line in r.stdout.splitlines()]
    assert [Path(x['path']).name for x in results] == [p.name for p in audio_files]
    ok, bad = results[:5], results[5]
    for x in ok:
        assert x['emotion'] in x['probabilities'] and len(x['probabilities']) == 8
        assert abs(sum(x['probabilities'].values()) - 1) < 1e-4
    assert results[3]['windows'] > 100  # the 10-minute file, scored in windows
    assert any('very short' in w for w in results[4]['warnings'])
    assert 'corrupt.wav: cannot read audio' in bad['error']


def test_predict_answers_through_the_onnx_twin_as_torch_does(first_run, audio_files):
    run_dir = _run_dirs(first_run[0])[0]
    assert (run_dir/'model.onnx').is_file()
    fast, slow = ([json.loads(line) for line in cli('predict', run_dir, *audio_files[:3], '--json', *extra).stdout.splitlines()] for extra in ([], ['--torch']))
    assert {x['runtime'] for x in fast} == {'onnx'} and {x['runtime'] for x in slow} == {'torch'}
    for a, b in zip(fast, slow):
        assert (a['windows'], a['emotion']) == (b['windows'], b['emotion'])
        assert max(abs(a['probabilities'][c] - b['probabilities'][c]) for c in a['probabilities']) < 1e-4


def test_predict_table_and_model_file(first_run, audio_files):
    model = _run_dirs(first_run[0])[0]/'model.pt'
    r = cli('predict', model, audio_files[3], '--top', '2')
    assert r.returncode == 0, r.stderr
    assert 'windows, averaged' in r.stdout and r.stdout.count(',') >= 1
    import torch
    blob = torch.load(model, weights_only=True)  # a safe format
    assert blob['format'] == 'ravdess-emo-model/1'


def test_seed_config_trains_on_all_of_the_70_percent_and_keeps_the_last_epoch(demo4, env, tmp_path):
    two = tmp_path/'two_actors'  # two actors are enough for one random split, and draw half the seed's pictures
    for a in ('Actor_01', 'Actor_02'): shutil.copytree(demo4/a, two/a)
    shutil.copy(demo4/'.ravdess-emo-demo.json', two)  # still the synthetic demo corpus, as its reports must say
    r = cli('run', '01_spectrogram_cnn', '-f', 'seed', '--data', two, '--out', tmp_path, '--set', 'epochs=2', '--quiet', env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    m = json.loads((_run_dirs(tmp_path)[0]/'metrics.json').read_text())
    fold = m['folds'][0]
    assert (m['protocol'], m['params']['input'], m['params']['model'], m['params']['precision']) == ('random70', 'png', 'seed_cnn', 'fp32')  # the seed's arithmetic too
    assert 'bf16' not in m['model']
    assert (fold['n_train'], fold['n_val'], fold['n_test']) == (84, 0, 36)  # 70% of 120 files, all trained on
    assert fold['best_epoch'] == 2 and len(fold['history']) == 2 and 'val_ua' not in fold['history'][-1]


def test_speaker_adaptation_and_speed_perturbation_in_05(demo4, demo_run, tmp_path):
    "05 under si+adapt8 and si+adaptall: each its own run and section, the enrolment clips not scored, the plain probe on the same clips beside it; under si, speed-perturbed copies compared with the plain probe; the final probes answer predict, with enrolment clips or without."
    r = cli('run', '05_whisper_encoder', '--data', demo4, '--out', tmp_path, '--quiet', '--protocol', 'si,si+adapt8,si+adaptall', '--set', 'folds=[1]',
            '--set', 'whisper_model=tiny.en', '--set', 'all_layers=false', '--set', 'decompose=false', '--set', 'Cs=[0.1]', '--set', 'enrol_curve=[4]',
            '--set', 'speed_perturb=[1.1]', '--set', 'train_final=true', env=demo_run[2])
    assert r.returncode == 0, r.stdout + r.stderr
    runs = {m['protocol']: m for m in (json.loads((d/'metrics.json').read_text()) for d in (tmp_path/'05_whisper_encoder').iterdir())}
    plain_dir = next(d for d in (tmp_path/'05_whisper_encoder').iterdir() if '-si-' in d.name)  # run folders name their protocol
    m = runs['si6']
    assert m['model'] == 'logistic probe (C by inner CV) + speed-perturbed copies 1.1' and m['speed_perturb']['speeds'] == [1.1]
    assert 0 <= m['speed_perturb']['ua_without']['mean'] <= 1 and m['speed_perturb']['seconds_per_clip']['1.1'] > 0
    report = (plain_dir/'05_whisper_encoder.ipynb').read_text()
    assert 'speed-perturbed copies (1.1) on ravdess-demo (si6): UA ' in report and 'speed 1.1 ' in report
    assert runs['si6+adapt8']['speed_perturb'] is None  # the plain protocol's option
    assert set(runs) == {'si6', 'si6+adapt8', 'si6+adaptall'}
    plain, k8, every = runs['si6'], runs['si6+adapt8'], runs['si6+adaptall']
    assert k8['folds'][0]['n_test'] == plain['folds'][0]['n_test'] - 8  # one test actor in fold 1 of four actors: its 8 enrolment clips are not scored
    assert every['folds'][0]['n_test'] == plain['folds'][0]['n_test'] and every['adaptation']['labels_used'] is False
    assert k8['adaptation']['enrolment'] == 8 and 'labels never used' in k8['protocol_description']
    assert [(p['clips'], p['mix']) for p in every['adaptation']['curve']] == [('4', m) for m in ('random', 'balanced', 'neutral', 'one')] + [('all', 'every clip')]
    assert k8['adaptation']['curve'] == []  # the curve is the +adaptall run's
    summary = (tmp_path/'summary.md').read_text()
    assert summary.index('## si6:') < summary.index('## si6+adaptall:') < summary.index('## si6+adapt8:')
    assert 'speaker-adapted: 8 unlabelled clips of each test speaker, not scored; labels not used' in summary
    r = cli('run', '03_whisper_rnn', '--data', demo4, '--out', tmp_path, '--protocol', 'si+adapt8', env=demo_run[2])
    assert r.returncode == 2 and '03_whisper_rnn has no speaker adaptation' in r.stderr and 'Traceback' not in r.stderr
    # predict: the adapted probe with a speaker's enrolment clips, the plain one without them, each saying so once
    k8_dir = next(d for d in (tmp_path/'05_whisper_encoder').iterdir() if '+adapt8' in d.name)
    clips = sorted(map(str, (Path(demo4)/'Actor_02').glob('*.wav')))
    scored = lambda r: [json.loads(line) for line in r.stdout.splitlines()]
    r = cli('predict', k8_dir, *clips[8:12], '--enrol', *clips[:8], '--json', env=demo_run[2])
    assert r.returncode == 0, r.stderr
    assert r.stderr.count('speaker-adapted probe: the files standardised (mean_std) with the statistics of 8 enrolment clips') == 1
    adapted = scored(r)
    r = cli('predict', k8_dir, *clips[8:12], '--json', env=demo_run[2])
    assert r.returncode == 0 and 'without enrolment clips of the speaker (--enrol) its plain, speaker-independent probe answered' in r.stderr
    plain = scored(r)
    assert [p['path'] for p in plain] == clips[8:12] and all(abs(sum(p['probabilities'].values()) - 1) < 1e-6 for p in adapted + plain)
    assert any(a['probabilities'] != p['probabilities'] for a, p in zip(adapted, plain))  # two probes, two answers
    meta = json.loads(torch.load(k8_dir/'model.pt', weights_only=True)['meta'])
    assert (meta['model'], meta['probes'], meta['speaker_norm'], meta['feature']['models']) == ('encoder_probe', ['plain', 'adapted'], 'mean_std', ['tiny.en'])
    r = cli('predict', plain_dir, clips[8], '--enrol', clips[0], env=demo_run[2])
    assert r.returncode == 0 and 'trained without speaker adaptation: the enrolment clips were not used' in r.stderr
    r = cli('predict', k8_dir, clips[8], '--enrol', tmp_path/'missing.wav', env=demo_run[2])
    assert r.returncode == 2 and 'missing.wav' in r.stderr and 'Traceback' not in r.stderr
    # several speakers from a table: each standardised with its own files there, as --enrol with those files would
    others = sorted(map(str, (Path(demo4)/'Actor_03').glob('*.wav')))[:12]
    pd.DataFrame(dict(wav=clips[:12] + others, who=['two']*12 + ['three']*12)).to_csv(tmp_path/'who.csv', index=False)
    r = cli('predict', k8_dir, '--speakers', tmp_path/'who.csv', '--columns', 'path=wav,speaker=who', '--json', env=demo_run[2])
    assert r.returncode == 0, r.stderr
    assert r.stderr.count("each of 2 speakers standardised (mean_std) with the statistics of that speaker's files in the table (12 each)") == 1
    table = scored(r)
    assert [p['path'] for p in table] == clips[:12] + others  # no files named: the table's, in its order
    r = cli('predict', k8_dir, *clips[:12], '--enrol', *clips[:12], '--json', env=demo_run[2])
    enrolled = scored(r)
    assert len(enrolled) == 12 and all(a['probabilities'] == pytest.approx(b['probabilities'], abs=1e-6) for a, b in zip(enrolled, table))
    r = cli('predict', k8_dir, '--speakers', tmp_path/'who.csv', '--enrol', clips[0])
    assert r.returncode == 2 and 'give one of them' in r.stderr


def test_fusion_under_a_speaker_adapted_protocol(demo4, demo_run, tmp_path):
    "04 under si+adapt8: the probe branch standardised per speaker, the CNN trained as under si, every branch and fusion scored without the enrolment clips, the plain fusion on the same clips beside it."
    r = cli('run', '04_fusion', '--data', demo4, '--out', tmp_path, '--quiet', '--protocol', 'si+adapt8', '--set', 'folds=[1]', '--set', 'epochs=2',
            '--set', 'branches=[spectrogram,whisper_encoder]', '--set', 'whisper_model=tiny.en', '--set', 'Cs=[0.1]', '--set', 'untrained_ablation=false',
            env=demo_run[2])
    assert r.returncode == 0, r.stdout + r.stderr
    run_dir, = (tmp_path/'04_fusion').iterdir()
    m = json.loads((run_dir/'metrics.json').read_text())
    a = m['adaptation']
    assert m['protocol'] == 'si6+adapt8' and m['label'].endswith('(whisper_encoder speaker-adapted)')
    assert m['model'].endswith('; whisper_encoder standardised per speaker (mean_std), the networks as under si6')  # the summary's model column says it
    assert (a['adapted_branches'], a['enrolment'], a['labels_used'], a['enrolment_clips']) == (['whisper_encoder'], 8, False, 32)
    assert m['folds'][0]['n_test'] == a['scored_clips'] == 60 - 8  # fold 1's test actor: 60 clips, 8 of them enrolment, not scored
    predictions = pd.read_csv(run_dir/'predictions.csv')
    assert len(predictions) == 52 and 0 <= a['plain_late_fusion_ua']['mean'] <= 1 and set(a['paired']) == {'diff_ua', 'ci', 'p_permutation'}
    report = (run_dir/'04_fusion.ipynb').read_text()
    assert 'spectrogram trained as under si6, scored on the same clips; labels never used' in report
    assert 'plain (si6) on the same 52 scored clips' in report


def test_cnn_under_a_speaker_adapted_protocol(demo4, demo_run, tmp_path):
    "01 under si+adapt8: each speaker's bands standardised, the enrolment clips not scored, the plain networks (the session run's, from the fold store) on the same clips beside it; no final model."
    r = cli('run', '01_spectrogram_cnn', '--data', demo4, '--out', tmp_path, *QUICK, '--protocol', 'si+adapt8', '--set', 'train_final=true', env=demo_run[2])
    assert r.returncode == 0, r.stdout + r.stderr
    run_dir, = (tmp_path/'01_spectrogram_cnn').iterdir()
    m = json.loads((run_dir/'metrics.json').read_text())
    a = m['adaptation']
    assert m['protocol'] == 'si6+adapt8' and m['folds'][0]['n_test'] == a['scored_clips'] == 60 - 8 and a['enrolment_clips'] == 32
    assert 'speakers standardised per band (mean_std) with 8 unlabelled clips' in m['model'] and a['labels_used'] is False
    assert 0 <= a['plain_ua_same_clips'] <= 1 and not (run_dir/'model.pt').exists()
    report = (run_dir/'01_spectrogram_cnn.ipynb').read_text()
    assert "plain (si6) on the same 52 scored clips" in report and "a CNN's final model is the plain protocol's" in report
