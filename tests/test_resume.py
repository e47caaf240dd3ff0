"Train each fold once: an interrupted run (Ctrl-C, SIGTERM, a killed kernel) resumes at its first unfinished fold, an identical call is reused, fusion reuses stored branches."
import json, os, signal, subprocess, tempfile, time
from pathlib import Path

import pytest

from conftest import BIN, cli

RUN = ['run', '01_spectrogram_cnn', '--set', 'epochs=6', '--set', 'folds=[1,2]', '--quiet']
# 04_fusion's CNN branch with the recipe 01 runs with above (configs/default.yaml's, at 6 epochs)
CNN_RECIPE = "cnn_recipe={optimizer: adamw, schedule: onecycle, lr: 0.003, weight_decay: 0.01, epochs: 6, select: last, patience: null}"


@pytest.fixture(scope='module')
def env(tmp_path_factory):
    "A private cache, hence a private fold store."
    return dict(os.environ, RAVDESS_EMO_CACHE=str(tmp_path_factory.mktemp('cache')))


def _metrics(out, exp='01_spectrogram_cnn'):
    "The metrics.json of every run of `exp` under `out`, oldest first."
    return [json.loads((d/'metrics.json').read_text()) for d in sorted((out/exp).iterdir()) if (d/'metrics.json').exists()]


def _parent_and_command(proc:Path):
    "(parent pid, whether it is an ipykernel) of a /proc entry; None when it has gone."
    try: return int((proc/'stat').read_text().rsplit(')', 1)[1].split()[1]), b'ipykernel_launcher' in (proc/'cmdline').read_bytes()
    except (OSError, IndexError, ValueError): return None


def _group(proc:Path):
    "The process group of a running /proc entry; None when it has gone or only waits to be reaped (a zombie)."
    try: state, _, pgid = (proc/'stat').read_text().rsplit(')', 1)[1].split()[:3]
    except (OSError, ValueError): return None
    return None if state in 'ZX' else int(pgid)


def _kernels(p):
    "The pids of the kernels a run started (its children `ipykernel_launcher`; each leads its own process group)."
    kernels = [int(d.name) for d in Path('/proc').iterdir() if d.name.isdigit() and _parent_and_command(d) == (p.pid, True)]
    assert kernels, "no kernel found under the run"
    return kernels


def _outliving(kernels):
    "The processes of the kernels' groups still running a few seconds after the run ended (SIGKILL is delivered at once, but a process takes a moment to exit)."
    deadline = time.time() + 10
    while (left := [d.name for d in Path('/proc').iterdir() if d.name.isdigit() and _group(d) in kernels]) and time.time() < deadline: time.sleep(0.2)
    return left


def _ctrl_c(p):
    "Ctrl-C at a terminal: SIGINT to the run's process group; the run's kernels."
    kernels = _kernels(p)
    os.killpg(p.pid, signal.SIGINT)
    return kernels


def _terminate(p):
    "SIGTERM to the runner alone, as `kill` or a job scheduler sends it; the run's kernels."
    kernels = _kernels(p)
    p.send_signal(signal.SIGTERM)
    return kernels


def _kill_kernel(p):
    "Kill the kernel the run started, as the system does when memory runs out; the kernels."
    for k in (kernels := _kernels(p)): os.kill(k, signal.SIGKILL)
    return kernels


def _interrupt_after_first_fold(args, env, store, interrupt=_ctrl_c):
    "Start a run, `interrupt` it once its first fold is stored; (exit status, stderr, what `interrupt` returned), as soon as the run has exited."
    with tempfile.TemporaryFile('w+') as err:  # a file, not a pipe: a process the run leaves behind cannot hold this call open
        p = subprocess.Popen([str(BIN/'ravdess-emo'), *map(str, args)], env=env, stdout=subprocess.DEVNULL, stderr=err, text=True,
                             start_new_session=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # as at a terminal, whoever started the tests
        try:
            deadline = time.time() + 300
            while not list(store.glob('*/fold.json')) and p.poll() is None and time.time() < deadline: time.sleep(0.1)
            assert p.poll() is None, "the run ended before it could be interrupted"
            done = interrupt(p)
            p.wait(timeout=120)
            err.seek(0)
            return p.returncode, err.read(), done
        finally:
            if p.poll() is None: os.killpg(p.pid, signal.SIGKILL); p.wait()


@pytest.fixture(scope='module')
def resumed(demo4, env, tmp_path_factory):
    "A run interrupted by Ctrl-C after its first fold, then the same call again: (reports folder, interrupted exit status and stderr, resumed call, processes of its kernel left)."
    out = tmp_path_factory.mktemp('reports')
    rc, err, kernels = _interrupt_after_first_fold([*RUN, '--data', demo4, '--out', out], env, Path(env['RAVDESS_EMO_CACHE'])/'folds')
    left = _outliving(kernels)
    return out, rc, err, cli(*RUN, '--data', demo4, '--out', out, env=env), left


def test_ctrl_c_prints_one_line_and_keeps_the_finished_fold(resumed, env):
    _, rc, err, _, left = resumed
    assert rc == 130 and 'Traceback' not in err and 'interrupted' in err and len(err.strip().splitlines()) == 1, err
    assert not left, f"the kernel's processes outlive the run: {left}"


def test_killed_kernel_fails_its_run_in_one_line_and_the_next_call_resumes(demo4, tmp_path):
    env, out = dict(os.environ, RAVDESS_EMO_CACHE=str(tmp_path/'cache')), tmp_path/'reports'
    rc, err, kernels = _interrupt_after_first_fold([*RUN, '--data', demo4, '--out', out], env, tmp_path/'cache'/'folds', _kill_kernel)
    run_dir = next((out/'01_spectrogram_cnn').iterdir())
    assert rc == 1 and err.strip().splitlines() == [f"FAILED 01_spectrogram_cnn: DeadKernelError; partial report in {run_dir}"], err
    info = json.loads((run_dir/'run.json').read_text())
    assert info['status'] == 'failed' and 'kernel died' in info['error']['evalue']
    assert 'failed (DeadKernelError: the kernel died' in (out/'summary.md').read_text()
    assert not (left := _outliving(kernels)), f"processes of the dead kernel's group outlive it: {left}"  # its feature workers would otherwise idle on for about 40 s
    r = cli(*RUN, '--data', demo4, '--out', out, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert [f['reused'] for f in _metrics(out)[-1]['folds']] == [True, False]


def test_sigterm_ends_a_run_as_ctrl_c_does(demo4, tmp_path):
    env, out = dict(os.environ, RAVDESS_EMO_CACHE=str(tmp_path/'cache')), tmp_path/'reports'
    rc, err, kernels = _interrupt_after_first_fold([*RUN, '--data', demo4, '--out', out], env, tmp_path/'cache'/'folds', _terminate)
    assert rc == 128 + signal.SIGTERM and err.strip().splitlines() == ['ravdess-emo run: terminated; finished work is kept, run again to resume'], err
    run_dir = next((out/'01_spectrogram_cnn').iterdir())
    assert json.loads((run_dir/'run.json').read_text())['status'] == 'interrupted'  # recorded, and the summary written, as after Ctrl-C
    assert (out/'summary.md').exists()
    assert not (left := _outliving(kernels)), f"the kernel's processes outlive the run: {left}"


def test_interrupted_run_resumes_at_its_first_unfinished_fold(resumed, demo4, env, tmp_path):
    out, _, _, r, _ = resumed
    assert r.returncode == 0, r.stdout + r.stderr
    assert 'fold 2 of 2' in r.stdout  # the console says where the run is, even with --quiet
    again = _metrics(out)[-1]
    assert [f['reused'] for f in again['folds']] == [True, False]  # fold 1 from the store, fold 2 trained

    r = cli(*RUN, '--data', demo4, '--out', tmp_path, '--fresh', env=env)  # uninterrupted, everything trained again
    assert r.returncode == 0, r.stderr
    fresh = _metrics(tmp_path)[-1]
    assert [f['reused'] for f in fresh['folds']] == [False, False]
    assert [f['metrics'] for f in fresh['folds']] == [f['metrics'] for f in again['folds']]
    assert fresh['summary']['ua'] == again['summary']['ua']


def test_identical_call_is_reused_and_trains_nothing(resumed, demo4, env):
    out = resumed[0]
    n_runs = len(list((out/'01_spectrogram_cnn').iterdir()))
    r = cli(*RUN, '--data', demo4, '--out', out, env=env)
    assert r.returncode == 0 and 'reused (parameters, corpus and code unchanged)' in r.stdout, r.stdout + r.stderr
    assert len(list((out/'01_spectrogram_cnn').iterdir())) == n_runs
    assert 'reused by 1 later identical call(s)' in (out/'summary.md').read_text()


def test_fusion_reuses_the_branches_the_experiments_stored(resumed, demo4, env):
    out = resumed[0]
    r = cli('run', '04_fusion', '--set', 'branches=[spectrogram]', '--set', 'untrained_ablation=false', '--set', CNN_RECIPE,
            '--set', 'folds=[1,2]', '--quiet', '--data', demo4, '--out', out, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    own, fusion = _metrics(out)[-1], _metrics(out, '04_fusion')[-1]
    assert fusion['branch_folds_reused'] == {'spectrogram': [True, True]}
    assert fusion['variants']['spectrogram alone']['ua'] == own['summary']['ua']
