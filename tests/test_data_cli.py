"The data commands as a user runs them: demo-data, check and download."
import hashlib, io, json, zipfile

from conftest import cli


def test_demo_corpus_checks_clean(demo4):
    r = cli('check', demo4, '--json', check=True)
    report = json.loads(r.stdout)
    assert report['n_files'] == 240
    assert report['actors'] == [1, 2, 3, 4]
    assert len(report['by_emotion']) == 8 and report['by_emotion']['neutral'] == 16 and report['by_emotion']['angry'] == 32
    assert report['problems'] == [] and report['skipped'] == {} and report['stereo'] == []
    assert report['usable'] is True


def test_check_text_names_problems(demo4, tmp_path):
    corpus = tmp_path/'corpus'
    (corpus/'Actor_01').mkdir(parents=True)
    for wav in sorted((demo4/'Actor_01').glob('*.wav'))[:5]: (corpus/'Actor_01'/wav.name).write_bytes(wav.read_bytes())
    (corpus/'Actor_01'/'03-01-05-01-01-01-01.wav').write_bytes(b'garbage')
    (corpus/'Actor_01'/'readme.txt').write_text('x')
    r = cli('check', corpus)
    assert r.returncode == 0, r.stderr
    assert '03-01-05-01-01-01-01.wav: cannot read audio' in r.stdout
    assert 'readme.txt: not a WAV file' in r.stdout


def test_check_unusable_exits_2(tmp_path):
    r = cli('check', tmp_path)
    assert r.returncode == 2
    assert 'Not usable' in r.stdout and 'ravdess-emo download' in r.stdout


def _zip(entries):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, 'w') as z:
        for name, data in entries.items(): z.writestr(name, data)
    return buf.getvalue()


def test_download_resumes_and_extracts(demo4, tmp_path, http_server):
    wavs = sorted((demo4/'Actor_02').glob('*.wav'))[:3]
    payload = _zip({f'Actor_02/{w.name}': w.read_bytes() for w in wavs})
    url, srv = http_server(payload, cut_first=True)
    r = cli('download', '--to', tmp_path/'Raw_data', '--url', url, '--md5', hashlib.md5(payload).hexdigest(), '--quiet')
    assert r.returncode == 0, r.stderr
    assert srv.requests == 2  # interrupted once, resumed
    assert sorted(p.name for p in (tmp_path/'Raw_data'/'Actor_02').iterdir()) == [w.name for w in wavs]
    r = cli('download', '--to', tmp_path/'Raw_data', '--url', url, '--quiet')
    assert r.returncode == 0 and srv.requests == 2  # already there: nothing fetched


def test_download_refuses_corrupt_and_unsafe(tmp_path, http_server):
    payload = _zip({'Actor_01/03-01-01-01-01-01-01.wav': b'x'})
    url, _ = http_server(payload)
    r = cli('download', '--to', tmp_path/'a', '--url', url, '--md5', '0'*32, '--quiet')
    assert r.returncode == 2 and 'checksum mismatch' in r.stderr
    assert not (tmp_path/'a').exists()
    evil = _zip({'Actor_01/03-01-01-01-01-01-01.wav': b'x', '../../escape.wav': b'x'})
    url, _ = http_server(evil)
    r = cli('download', '--to', tmp_path/'b', '--url', url, '--md5', hashlib.md5(evil).hexdigest(), '--quiet')
    assert r.returncode == 2 and "'../../escape.wav' is unsafe" in r.stderr
    assert not (tmp_path/'escape.wav').exists() and not (tmp_path.parent/'escape.wav').exists()
