"Sweeps on a real Dask cluster: a scheduler and two workers on 127.0.0.1, one worker killed mid-sweep, every point equal to the same run made here."
import json, os, signal, subprocess, time
from pathlib import Path

import pytest

from conftest import BIN, cli

EXP = '01_spectrogram_cnn'
QUICK = ['--set', 'epochs=2', '--set', 'folds=[1]', '--set', 'threads=1']  # one torch thread per point: two workers share two cores
SWEEP = ['sweep', EXP, '--grid', 'lr=0.003', '--seeds', '0,1', *QUICK]  # two points, one per worker


@pytest.fixture(scope='module')
def env(tmp_path_factory):
    "A private cache, hence a private fold store, shared by the cluster's workers and the runs made here."
    return dict(os.environ, RAVDESS_EMO_CACHE=str(tmp_path_factory.mktemp('cache')))


@pytest.fixture(scope='module')
def cluster(tmp_path_factory, env):
    "`dask scheduler` and two `dask worker`s (one thread each, no nanny) on 127.0.0.1; yields (address, {name: process}); every process group is killed at the end."
    from distributed import Client
    d = tmp_path_factory.mktemp('dask')
    procs = {}
    def start(name, *args):
        procs[name] = subprocess.Popen([str(BIN/'dask'), *map(str, args)], env=env, cwd=d, start_new_session=True,
                                       stdout=open(d/f'{name}.log', 'w'), stderr=subprocess.STDOUT)
    try:
        start('scheduler', 'scheduler', '--host', '127.0.0.1', '--port', 0, '--no-dashboard', '--scheduler-file', d/'scheduler.json')
        deadline = time.time() + 60
        while not (d/'scheduler.json').exists() and time.time() < deadline: time.sleep(0.2)
        address = json.loads((d/'scheduler.json').read_text())['address']
        assert address.startswith('tcp://127.0.0.1:'), address
        for w in ('w1', 'w2'):
            start(w, 'worker', address, '--nthreads', 1, '--no-nanny', '--name', w, '--host', '127.0.0.1', '--no-dashboard')
        with Client(address, timeout='30s') as c: c.wait_for_workers(2, timeout=60)
        yield address, procs
    finally:
        for p in procs.values():
            if p.poll() is None:
                try: os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError: pass
            p.wait()


@pytest.fixture(scope='module')
def swept(cluster, demo4, env, tmp_path_factory):
    "The sweep on the cluster, worker w1 killed while it runs a point: (reports folder, completed process, indices of the points w1 held)."
    from distributed import Client
    address, procs = cluster
    out = tmp_path_factory.mktemp('reports')
    p = subprocess.Popen([str(BIN/'ravdess-emo'), *SWEEP, '--data', str(demo4), '--out', str(out), '--scheduler', address], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        held, deadline = [], time.time() + 300
        with Client(address, timeout='30s') as c:
            w1 = next(a for a, w in c.scheduler_info()['workers'].items() if w['name'] == 'w1')
            while p.poll() is None and time.time() < deadline:  # w1 is in the middle of a point: its notebook has started a fold
                held = list(c.processing().get(w1, []))
                if held and list(out.glob(f'{EXP}/*/progress.json')): break
                time.sleep(0.2)
        assert held and p.poll() is None, "the sweep ended before a worker could be killed"
        os.killpg(procs['w1'].pid, signal.SIGKILL)
        stdout, stderr = p.communicate(timeout=600)
    finally:
        if p.poll() is None: os.killpg(p.pid, signal.SIGKILL); p.wait()
    return out, subprocess.CompletedProcess(p.args, p.returncode, stdout, stderr), [int(str(k).split('-')[-2]) for k in held]


def _record(out):
    "The sweep's record (there is one sweep per reports folder here)."
    (path,) = out.glob('sweeps/*/sweep.json')
    return json.loads(path.read_text())


def _metrics(run_dir):
    "A run's fold metrics and summary UA, what must not depend on where the run was made."
    m = json.loads((Path(run_dir)/'metrics.json').read_text())
    return [f['metrics'] for f in m['folds']], m['summary']['ua'], {k: v for k, v in m['params'].items() if k != 'out_dir'}


def test_a_killed_worker_loses_no_point(swept):
    out, r, held = swept
    assert r.returncode == 0, r.stdout + r.stderr
    points = _record(out)['points']
    assert [p['status'] for p in points] == ['ok'] * 2
    assert all(points[i]['worker'] == 'w2' for i in held)  # the points w1 held were run again by the other worker
    assert '2 done, 0 running, 0 left' in r.stdout
    view = (out/'summary.md').read_text()
    assert '# Sweeps' in view and '| lr=0.003 | 2 |' in view  # one row for the configuration, over its two seeds (several configurations: the chapter's tests)
    assert (out/'sweeps'/_record(out)['id']/'ua.png').exists()


def test_every_point_equals_the_run_made_here(swept, demo4, env, tmp_path):
    out, _, _ = swept
    points = _record(out)['points']
    # the whole sweep again without a scheduler (a LocalCluster here), every fold trained again
    r = cli(*SWEEP, '--data', demo4, '--out', tmp_path/'local', '--fresh', '--workers', 2, env=env)
    assert r.returncode == 0 and 'on a LocalCluster of 2 worker(s)' in r.stdout, r.stdout + r.stderr
    local = {(p['setting']['lr'], p['seed']): p for p in _record(tmp_path/'local')['points']}
    for p in points:
        assert _metrics(p['run_dir']) == _metrics(local[(p['setting']['lr'], p['seed'])]['run_dir'])
    # and one point as a plain `ravdess-emo run`
    r = cli('run', EXP, '--data', demo4, '--set', 'lr=0.003', '--set', 'seed=1', *QUICK, '--out', tmp_path/'run', '--fresh', '--quiet', env=env)
    assert r.returncode == 0, r.stderr
    (run_dir,) = (tmp_path/'run'/EXP).iterdir()
    (point,) = [p for p in points if (p['setting']['lr'], p['seed']) == (0.003, 1)]
    assert _metrics(run_dir)[:2] == _metrics(point['run_dir'])[:2]


def test_the_same_sweep_again_trains_nothing(swept, cluster, demo4, env):
    out, _, _ = swept
    runs = sorted((out/EXP).iterdir())
    r = cli(*SWEEP, '--data', demo4, '--out', out, '--scheduler', cluster[0], env=env)
    assert r.returncode == 0 and '2 points, 2 finished before, 0 to run' in r.stdout, r.stdout + r.stderr
    assert sorted((out/EXP).iterdir()) == runs
    assert [p['status'] for p in _record(out)['points']] == ['reused'] * 2


def test_a_failing_point_is_retried_once_then_reported(swept, cluster, demo4, env, tmp_path):
    r = cli('sweep', EXP, '--set', 'model=resnet', '--set', 'epochs=1', '--set', 'folds=[1]', '--data', demo4, '--out', tmp_path,
            '--scheduler', cluster[0], env=env)
    assert r.returncode == 1 and 'FAILED after a retry' in r.stderr and "unknown model 'resnet'" in r.stderr, r.stdout + r.stderr
    assert 'Traceback' not in r.stderr
    runs = [json.loads((d/'run.json').read_text()) for d in (tmp_path/EXP).iterdir()]
    assert [x['status'] for x in runs] == ['failed', 'failed']  # two attempts, each with its partial report
    assert [p['status'] for p in _record(tmp_path)['points']] == ['failed']
