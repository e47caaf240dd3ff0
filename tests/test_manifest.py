"A corpus as a table, as a researcher brings one: written by `manifest`, written by hand with other column names, checked row by row, run, and crossed with another corpus."
import json, os

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from conftest import cli

QUICK = ['--set', 'epochs=1', '--set', 'folds=[1]', '--quiet']
HAND = 'path=wav,speaker=spk,emotion=emo,gender=sex,fold=cv_fold'


@pytest.fixture(scope='module')
def env(tmp_path_factory):
    return dict(os.environ, RAVDESS_EMO_CACHE=str(tmp_path_factory.mktemp('cache')))


@pytest.fixture(scope='module')
def emodb_small(emodb, tmp_path_factory):
    "An EmoDB folder of three of its ten sentences (every speaker and emotion, 160 files), linked to the development copy: EmoDB's names and folds at a third of the cost."
    d = tmp_path_factory.mktemp('emodb-small')
    for f in sorted(emodb.glob('*.wav')):
        if f.name[2:5] in ('a01', 'a02', 'a04'): (d/f.name).symlink_to(f)
    return d


@pytest.fixture(scope='module')
def manifests(emodb_small, tmp_path_factory):
    "EmoDB's manifest as `manifest` writes it, and the same rows by hand: other column names, absolute paths, capitalised emotions, named folds, reversed order."
    d = tmp_path_factory.mktemp('manifests')
    cli('manifest', emodb_small, '--out', d/'emodb.csv', check=True)
    t = pd.read_csv(d/'emodb.csv', dtype=str)
    hand = pd.DataFrame(dict(wav=[os.path.normpath(d/p) for p in t.path], spk='spk' + t.speaker, emo=t.emotion.str.capitalize(),
                             sex=t.gender.str[0].str.upper(), cv_fold='fold_' + t.fold, session='one'))
    hand.iloc[::-1].to_json(d/'hand.jsonl', orient='records', lines=True)
    return d/'emodb.csv', d/'hand.jsonl'


def test_manifest_of_emodb_reads_as_the_folder(manifests, emodb_small):
    written, hand = manifests
    folder = json.loads(cli('check', emodb_small, '--json', check=True).stdout)
    for path, columns in ((written, []), (hand, ['--columns', HAND])):
        rep = json.loads(cli('check', path, *columns, '--json', check=True).stdout)
        assert (rep['n_files'], rep['by_emotion'], rep['by_sex'], rep['problems']) == (160, folder['by_emotion'], folder['by_sex'], [])
        assert rep['folds']['protocol'] == 'si5' and [len(g) for g in rep['folds']['test_speakers']] == [2]*5
    assert 'kept as metadata: session' in cli('check', hand, '--columns', HAND).stdout
    r = cli('check', hand)  # our column names are not the hand-written manifest's: said, with what it has
    assert r.returncode == 2 and 'no path, speaker, emotion column; it has wav, spk, emo, sex, cv_fold, session' in r.stderr and 'Traceback' not in r.stderr


def _first_fold(reports):
    run = next((reports/'01_spectrogram_cnn').iterdir())
    m = json.loads((run/'metrics.json').read_text())
    return m, pd.read_csv(run/'predictions.csv'), pd.read_csv(run/'folds.csv')


def test_a_run_on_either_manifest_gives_the_folders_numbers(manifests, emodb_small, env, tmp_path):
    written, hand = manifests
    results = []
    for name, data, columns in (('folder', emodb_small, []), ('written', written, []), ('hand', hand, ['--columns', HAND])):
        r = cli('run', '01_spectrogram_cnn', '--data', data, *columns, '--out', tmp_path/name, *QUICK, '--fresh', env=env)
        assert r.returncode == 0, r.stdout + r.stderr
        results.append(_first_fold(tmp_path/name))
    (a, pa, fa), *others = results
    for m, p, f in others:
        assert m['protocol'] == 'si5' and m['folds'][0]['metrics']['ua'] == a['folds'][0]['metrics']['ua']
        assert (p.pred.to_numpy() == pa.pred.to_numpy()).all() and (p.label.to_numpy() == pa.label.to_numpy()).all()
        assert f.role.tolist() == fa.role.tolist() and f.files.tolist() == fa.files.tolist()  # the same speakers test, validate and train
    assert set(results[2][2].speaker) == {f'spk{s:02d}' for s in (3, 8, 9, 10, 11, 12, 13, 14, 15, 16)}  # named as the manifest names them
    hand_fold = results[2][0]['folds'][0]
    assert set(hand_fold['metrics']['per_actor']) == set(hand_fold['test_speakers']) == {'spk03', 'spk08'}  # and so in the report's figures


def _tone(path, f0, sr=16000):
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, 0.3*np.sin(2*np.pi*f0*np.arange(sr//2)/sr), sr)


def test_check_names_every_bad_row(tmp_path):
    rows = []
    for i, spk in enumerate(['ann', 'bob', 'cat']):
        for j, emo in enumerate(['anger', 'joy']):
            _tone(tmp_path/'a'/f'{spk}{j}.wav', 200 + 30*i + 7*j); rows.append(dict(file=f'a/{spk}{j}.wav', who=spk, feel=emo, fold=str(i + 1)))
    rows += [dict(file='a/ann0.wav', who='ann', feel='anger', fold='1'), dict(file='a/gone.wav', who='bob', feel='joy', fold='2'),
             dict(file='a/cat1.wav', who='cat', feel='', fold='3')]
    (tmp_path/'a'/'bad.wav').write_bytes(b'RIFF....'); rows.append(dict(file='a/bad.wav', who='cat', feel='joy', fold='3'))
    pd.DataFrame(rows).assign(empty='').to_csv(tmp_path/'m.csv', index=False)
    r = cli('check', tmp_path/'m.csv', '--columns', 'path=file,speaker=who,emotion=feel')
    assert r.returncode == 0, r.stderr
    for line in ('row 8: ', 'also on row 2 (duplicate path)', 'row 9: ', 'gone.wav: no such file', 'row 10: empty emotion', 'row 11: ', 'bad.wav: cannot read audio',
                 'empty columns: empty', 'emotions (2): joy 3, anger 3', "folds (si3): speaker-independent, the manifest's own 3 folds"):
        assert line in r.stdout, (line, r.stdout)
    pd.DataFrame(rows[:6]).assign(fold=['1', '2', '2', '2', '3', '3']).to_csv(tmp_path/'leak.csv', index=False)  # ann in folds 1 and 2
    r = cli('check', tmp_path/'leak.csv', '--columns', 'path=file,speaker=who,emotion=feel')
    assert r.returncode == 2 and 'puts a speaker on two sides' in r.stderr and 'speaker ann in 1, 2' in r.stderr


def test_generated_folds_are_speaker_independent_and_reproducible(demo4, env, tmp_path):
    cli('manifest', os.path.relpath(demo4), '--out', tmp_path/'demo.csv', check=True)  # a folder named relative to here: the manifest still finds its files
    pd.read_csv(tmp_path/'demo.csv').drop(columns='fold').to_csv(tmp_path/'nofold.csv', index=False)
    folds = []
    for k in range(2):
        r = cli('run', '01_spectrogram_cnn', '--data', tmp_path/'nofold.csv', '--protocol', 'si2', '--out', tmp_path/f'r{k}', *QUICK, '--fresh', env=env)
        assert r.returncode == 0, r.stdout + r.stderr
        m, _, f = _first_fold(tmp_path/f'r{k}')
        folds.append(f)
        assert m['protocol'] == 'si2' and 'generated from the speakers' in m['protocol_description']
        roles = f.groupby('speaker').role.unique()
        assert all(len(v) == 1 for v in roles) and set(f.role) == {'test', 'validation', 'training'}  # each speaker on one side of fold 1
    assert folds[0].equals(folds[1])


def test_cross_corpus_from_manifests(manifests, demo4, env, tmp_path):
    cli('manifest', demo4, '--out', tmp_path/'demo.jsonl', check=True)
    r = cli('run', '06_cross_corpus', '--data', tmp_path/'demo.jsonl', '--set', f'other={os.path.relpath(manifests[0])}', '--out', tmp_path/'x', '--quiet',
            '--set', 'branches=[whisper_encoder]', '--set', 'whisper_model=tiny.en', '--set', 'Cs=[0.1]', '--set', 'standardise=[speaker]', env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    m = json.loads((next((tmp_path/'x'/'06_cross_corpus').iterdir())/'metrics.json').read_text())
    assert m['shared_emotions'] == ['neutral', 'happy', 'sad', 'angry', 'fearful', 'disgust']
    assert m['dropped_emotions'] == {'demo': ['calm', 'surprised'], 'emodb-manifest': ['boredom']}
    assert {'whisper_encoder: demo -> emodb-manifest', 'whisper_encoder: emodb-manifest -> demo'} <= set(m['variants'])
    summary = (tmp_path/'x'/'summary.md').read_text()  # both directions, each beside its within-corpus figure, in a section of their own
    section = summary[summary.index('## xcorpus'):]
    for row in ('| demo ↔ emodb-manifest | demo → emodb-manifest | whisper_encoder |', '| demo ↔ emodb-manifest | emodb-manifest → demo | whisper_encoder |',
                '| demo ↔ emodb-manifest | within emodb-manifest (si5 folds) | whisper_encoder |', '| demo ↔ emodb-manifest | within demo (si5 folds) | whisper_encoder |'):
        assert row in section, (row, section)
