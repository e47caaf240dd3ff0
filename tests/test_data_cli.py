"The data commands as a user runs them: demo-data, check and download."
import hashlib, io, json, zipfile

from conftest import cli


def test_demo_data_makes_the_demo_corpus(demo4, tmp_path):
    r = cli('demo-data', tmp_path/'demo', '--actors', 1, check=True)
    assert str(tmp_path/'demo') in r.stdout
    made = sorted((tmp_path/'demo'/'Actor_01').glob('*.wav'))
    assert len(made) == 60 and [p.read_bytes() for p in made] == [p.read_bytes() for p in sorted((demo4/'Actor_01').glob('*.wav'))]  # the same seed, the same bytes
    r = cli('demo-data', tmp_path/'quick', '--actors', 1, '--repetitions', 1, '--statements', 1, check=True)
    assert '(15 files, 16000 Hz)' in r.stdout  # the main job's quick demo: one take of the first statement
    quick = sorted((tmp_path/'quick'/'Actor_01').glob('*.wav'))
    assert [p.name for p in quick] == [p.name for p in sorted((demo4/'Actor_01').glob('*-01-01-01.wav'))]


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


def _ravdess_zip(wav:bytes, damaged:bool=False) -> bytes:
    "An archive laid out as RAVDESS speech's (1440 files in Actor_XX folders), every file a copy of `wav`; optionally one file's bytes changed under its CRC."
    from ravdess_emo.download import ravdess_speech_files
    data = _zip({name: wav for name in ravdess_speech_files()})
    if damaged:
        data = bytearray(data); at = data.find(wav[60:100]); data[at:at+8] = b'\xff'*8; data = bytes(data)
    return data


def _short_wav(demo4) -> bytes:
    import soundfile as sf
    y, sr = sf.read(sorted((demo4/'Actor_02').glob('*.wav'))[0])
    buf = io.BytesIO(); sf.write(buf, y[:800], sr, format='WAV'); return buf.getvalue()


def test_download_resumes_and_extracts(demo4, tmp_path, http_server):
    payload = _ravdess_zip(_short_wav(demo4))
    url, srv = http_server(payload, cut_first=True)
    r = cli('download', '--to', tmp_path/'Raw_data', '--url', url, '--md5', hashlib.md5(payload).hexdigest(), '--quiet')
    assert r.returncode == 0, r.stderr
    assert srv.requests == 2  # interrupted once, resumed
    assert len(list((tmp_path/'Raw_data').rglob('*.wav'))) == 1440 and len(list((tmp_path/'Raw_data'/'Actor_02').iterdir())) == 60
    r = cli('download', '--to', tmp_path/'Raw_data', '--url', url, '--quiet')
    assert r.returncode == 0 and srv.requests == 2  # already there: nothing fetched


def test_download_recovers_every_state(demo4, tmp_path, http_server):
    wav = _short_wav(demo4)
    payload = _ravdess_zip(wav)
    url, srv = http_server(payload)
    # a partial corpus (one file) is not taken for the corpus: the archive completes it
    (tmp_path/'Raw_data'/'Actor_05').mkdir(parents=True); (tmp_path/'Raw_data'/'Actor_05'/'03-01-01-01-01-01-05.wav').write_bytes(wav)
    r = cli('download', '--to', tmp_path/'Raw_data', '--url', url, '--md5', 'none', '--quiet')
    assert r.returncode == 0 and srv.requests == 1 and len(list((tmp_path/'Raw_data').rglob('*.wav'))) == 1440, r.stderr
    # a complete .part the server answers with 416 is finished, not retried forever
    (tmp_path/'downloads').mkdir(exist_ok=True)
    part = tmp_path/'downloads'/'Audio_Speech_Actors_01-24.zip.part'; part.write_bytes(payload)
    (tmp_path/'downloads'/'Audio_Speech_Actors_01-24.zip.part.source.json').write_text(json.dumps(dict(url=url, md5=None, size=None)))
    r = cli('download', '--to', tmp_path/'Raw_b', '--url', url, '--md5', 'none', '--quiet')
    assert r.returncode == 0 and len(list((tmp_path/'Raw_b').rglob('*.wav'))) == 1440, r.stderr
    # a stale archive from another address is not reused
    stale = tmp_path/'downloads'/'Audio_Speech_Actors_01-24.zip'; stale.write_bytes(b'an old archive')
    r = cli('download', '--to', tmp_path/'Raw_c', '--url', url, '--md5', 'none', '--quiet')
    assert r.returncode == 0 and len(list((tmp_path/'Raw_c').rglob('*.wav'))) == 1440, r.stderr
    # 404: one request, a clear answer, no promise of resuming
    url404, srv404 = http_server(payload, status=404)
    r = cli('download', '--to', tmp_path/'Raw_d', '--url', url404, '--md5', 'none', '--quiet')
    assert r.returncode == 2 and 'answered 404' in r.stderr and 'resume' not in r.stderr and srv404.requests == 1, r.stderr
    assert 'Traceback' not in r.stderr
    # an archive with a bad CRC inside: a clear error, the archive removed, nothing half-extracted
    urlbad, _ = http_server(_ravdess_zip(wav, damaged=True))
    r = cli('download', '--to', tmp_path/'Raw_e', '--url', urlbad, '--md5', 'none', '--quiet')
    assert r.returncode == 2 and 'the archive is damaged' in r.stderr and 'Traceback' not in r.stderr, r.stderr
    assert not (tmp_path/'Raw_e').exists() or not list((tmp_path/'Raw_e').rglob('*.wav'))
    assert not list((tmp_path/'downloads').glob('*.zip'))


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
