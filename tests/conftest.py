"Shared fixtures: the console script, the 4-actor demo corpus and a quick run on it made once per test session, a local HTTP server."
import http.server, json, os, subprocess, sys, threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def cli(*args, check=False, timeout=900, **kw):
    "Run the installed `ravdess-emo` console script; returns the CompletedProcess."
    r = subprocess.run([str(BIN/'ravdess-emo'), *map(str, args)], capture_output=True, text=True, timeout=timeout, **kw)
    if check and r.returncode: raise AssertionError(f"exit {r.returncode}\n{r.stdout}\n{r.stderr}")
    return r


def nbdev_test(nb:str, tmp:Path):
    "Run one notebook of nbs/ under nbdev_test, its temporary files in `tmp` (pytest keeps the last sessions' only); fail with the end of its output."
    r = subprocess.run([str(BIN/'nbdev_test'), '--path', f'nbs/{nb}', '--do_print'], cwd=ROOT, capture_output=True, text=True, timeout=1800,
                       env=dict(os.environ, TMPDIR=str(tmp)))  # the chapters' test cells write scratch folders: about 250 MB a session
    assert r.returncode == 0, f"nbdev_test failed on {nb}:\n{r.stdout[-6000:]}\n{r.stderr[-6000:]}"


@pytest.fixture(scope='session')
def demo4():
    "The 4-actor demo corpus the chapters use (`demo_corpus(4)`, under data/): made once, whoever asks first; its synthesis is safe to race. Tests only read it (a test that changes a corpus works on a copy)."
    from ravdess_emo.demo import demo_corpus
    return demo_corpus(4)


def _shared_dir(tmp_path_factory) -> Path:
    "A folder every test worker of this session sees: the workers' common parent under pytest-xdist, else the session's own."
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get('PYTEST_XDIST_WORKER') else base


QUICK = ['--set', 'epochs=2', '--set', 'folds=[1]', '--quiet']  # a run in seconds: two epochs of one fold


@pytest.fixture(scope='session')
def demo_run(demo4, tmp_path_factory):
    "`00_data` and a quick `01_spectrogram_cnn` (with its final model) run on demo4 with a private cache, once per test session whichever worker asks first: (reports folder, completed process, env). Read it; a test that writes there works on a copy."
    from filelock import FileLock
    shared = _shared_dir(tmp_path_factory)/'demo_run'; shared.mkdir(exist_ok=True)
    out, done, env = shared/'reports', shared/'done.json', dict(os.environ, RAVDESS_EMO_CACHE=str(shared/'cache'))
    with FileLock(str(shared/'lock')):
        if not done.exists():
            r = cli('run', '00_data', '01_spectrogram_cnn', '--data', demo4, '--out', out, *QUICK, '--set', 'train_final=true', env=env)
            assert r.returncode == 0, r.stdout + r.stderr
            done.write_text(json.dumps(dict(args=r.args, stdout=r.stdout, stderr=r.stderr)))
    r = json.loads(done.read_text())
    return out, subprocess.CompletedProcess(r['args'], 0, r['stdout'], r['stderr']), env


class _RangeHandler(http.server.BaseHTTPRequestHandler):
    "Serves `server.payload`; honours Range (416 past its end); breaks off the first response when `server.cut_first`; answers `server.status` when set."
    def log_message(self, *a): pass
    def do_GET(self):
        srv = self.server
        srv.requests += 1
        start = int(self.headers['Range'][6:-1]) if self.headers.get('Range') else 0
        if srv.status or start >= len(srv.payload) > 0:
            self.send_response(srv.status or 416); self.send_header('Content-Range', f'bytes */{len(srv.payload)}')
            self.send_header('Content-Length', '0'); self.end_headers(); return
        body = srv.payload[start:]
        self.send_response(206 if start else 200)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        if srv.cut_first and srv.requests == 1:
            self.wfile.write(body[:len(body)//2]); self.wfile.flush(); self.connection.close(); return
        self.wfile.write(body)


@pytest.fixture
def http_server():
    "Start a server on 127.0.0.1 for `payload`; yields a function payload, cut_first, status -> (url, server)."
    servers = []
    def start(payload: bytes, cut_first: bool = False, status: int | None = None):
        srv = http.server.ThreadingHTTPServer(('127.0.0.1', 0), _RangeHandler)
        srv.payload, srv.cut_first, srv.status, srv.requests = payload, cut_first, status, 0
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        servers.append(srv)
        return f'http://127.0.0.1:{srv.server_port}/Audio_Speech_Actors_01-24.zip', srv
    yield start
    for s in servers: s.shutdown()


EMODB = ROOT.parent/'shared'/'corpora'/'emodb-2s'


@pytest.fixture(scope='session')
def emodb():
    "EmoDB's development copy beside the project (never shipped with it); tests that need it skip without it."
    if not EMODB.is_dir(): pytest.skip(f"EmoDB's development copy is not at {EMODB} (it is not distributed with the project)")
    return EMODB
