"The reports page and JupyterLab as a person uses them, in headless Chromium (Debian's, driven by Playwright)."
import json, os, secrets, shutil, signal, socket, subprocess, time, urllib.request
from pathlib import Path

import pytest

from conftest import BIN, ROOT

CHROMIUM = shutil.which('chromium') or '/usr/bin/chromium'


@pytest.fixture(scope='module')
def browser():
    "Headless Chromium; never downloaded: `tools/browser.sh` installs Debian's."
    from playwright.sync_api import sync_playwright
    assert Path(CHROMIUM).exists(), "no chromium: run tools/browser.sh"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=['--no-sandbox'])
        yield b
        b.close()


def _page(browser):
    "A page that records every request it makes."
    page = browser.new_page(viewport={'width': 1400, 'height': 1000})
    page.requests = []
    page.on('request', lambda r: page.requests.append(r.url))
    return page


def test_reports_index(browser, demo_run, tmp_path):
    made, r, _ = demo_run
    assert f"{made/'index.html'}" in r.stdout  # the console names the page
    out = tmp_path/'reports'; shutil.copytree(made, out)  # the page's links are relative: it works wherever the folder is
    page = _page(browser)
    page.goto((out/'index.html').as_uri())
    runs = sorted(d for d in out.glob('*/*/') if d.is_dir())
    assert page.locator('tr.run').count() == len(runs) == 2
    assert page.locator('tr.published').count() >= 3  # the seed's and EmoBox's figures, labelled
    images = page.evaluate("[...document.images].map(i => [i.getAttribute('src'), i.naturalWidth])")
    assert len(images) >= 2 and all(w > 0 for _, w in images), images  # summary plot and the CNN's confusion matrix
    links = page.evaluate("[...document.querySelectorAll('a')].map(a => a.href)")
    assert len(links) == len(runs) and all(Path(urllib.request.url2pathname(h[len('file://'):])).exists() for h in links), links
    page.click('tr.run a >> nth=0')  # one click to a report, which opens with what a reader needs
    header = page.locator('#ravdess-emo-header').inner_text()
    assert 'corpus' in header and 'commit' in header
    assert all(u.startswith('file://') for u in page.requests), [u for u in page.requests if not u.startswith('file://')]
    page.goto((out/'index.html').as_uri()); page.screenshot(path=str(tmp_path/'index.png'), full_page=True)


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); return s.getsockname()[1]


@pytest.fixture
def jupyterlab(tmp_path):
    "JupyterLab on 127.0.0.1 (a free port, a token) serving a copy of a fast chapter; stopped whatever happens."
    root = tmp_path/'lab'; root.mkdir()
    shutil.copy(ROOT/'nbs'/'00c_metrics.ipynb', root)
    port, token = _free_port(), secrets.token_hex(16)
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(tmp_path/'cfg'), JUPYTER_RUNTIME_DIR=str(tmp_path/'rt'), MPLBACKEND='module://matplotlib_inline.backend_inline')
    log = open(tmp_path/'jupyterlab.log', 'w')  # the server's log: a failure quotes its end
    proc = subprocess.Popen([str(BIN/'jupyter'), 'lab', '--no-browser', '--allow-root', '--ServerApp.ip=127.0.0.1', f'--ServerApp.port={port}',
                             f'--IdentityProvider.token={token}', f'--ServerApp.root_dir={root}', '--LabApp.news_url=',
                             '--ServerApp.port_retries=0'], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.time() + 90
        while True:
            try: urllib.request.urlopen(f'http://127.0.0.1:{port}/api/status?token={token}', timeout=2); break
            except OSError:
                assert proc.poll() is None and time.time() < deadline, 'JupyterLab did not start'
                time.sleep(0.5)
        yield f'http://127.0.0.1:{port}', token, root
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try: proc.wait(timeout=20)
        except subprocess.TimeoutExpired: os.killpg(proc.pid, signal.SIGKILL); proc.wait()
        log.close()


IDLE = "() => !!document.querySelector('.jp-Notebook-ExecutionIndicator[data-status=\"idle\"]')"
STATE = """() => ({prompts: [...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputPrompt')].map(e => e.textContent.trim()).join(' '),
               kernel: (document.querySelector('.jp-Notebook-ExecutionIndicator') || {dataset: {}}).dataset.status,
               last: ([...document.querySelectorAll('.jp-OutputArea-output')].pop() || {innerText: ''}).innerText.slice(-300)})"""


def test_notebook_runs_in_jupyterlab(browser, jupyterlab, tmp_path):
    url, token, root = jupyterlab
    page = _page(browser)
    console = []  # the page's warnings and errors (a lost kernel connection is logged there): a failure quotes them
    page.on('console', lambda m: console.append(f'{m.type}: {m.text}') if m.type in ('warning', 'error') else None)
    dialogs = []  # a dialog JupyterLab shows (a kernel to choose, a slow server, a restarted kernel) is answered as a person would: its default button
    def answer(dialog):
        try:
            dialogs.append(dialog.inner_text(timeout=5_000)); print('JupyterLab dialog:', dialogs[-1].replace('\n', ' | '))
            dialog.locator('.jp-Dialog-button.jp-mod-accept').first.click(timeout=10_000)
        except Exception as e: print('a dialog closed before it was answered:', e)
    page.add_locator_handler(page.locator('.jp-Dialog'), answer)  # before each action; the waits below answer them too
    def evidence() -> str:
        "What the page and the server said, for a failure message."
        state = page.evaluate(STATE)
        server = [l for l in (tmp_path/'jupyterlab.log').read_text(errors='replace').splitlines() if l.startswith(('[W', '[E', '[C')) or 'estart' in l][-12:]
        return (f'prompts {state["prompts"]}, kernel {state["kernel"]}, dialogs {dialogs}, last output {state["last"]!r}; '
                f'browser console {console[-10:]}; server log ' + ' | '.join(server))
    def wait_until(condition, seconds, what):
        "Poll `condition` (JavaScript) until it holds, answering any dialog meanwhile; fail naming what was on the page."
        deadline = time.time() + seconds
        while time.time() < deadline:
            if page.locator('.jp-Dialog').count(): answer(page.locator('.jp-Dialog').first)
            if page.evaluate(condition): return
            page.wait_for_timeout(500)
        page.screenshot(path=str(tmp_path/'timeout.png'))
        pytest.fail(f'{what} within {seconds} s; {evidence()}')
    page.goto(f'{url}/lab/tree/00c_metrics.ipynb?token={token}')
    wait_until("() => !!document.querySelector('.jp-Notebook .jp-CodeCell')", 90, 'the notebook did not open')
    wait_until(IDLE, 120, 'the kernel did not start')
    prompts = "[...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputPrompt')].map(e => e.textContent)"
    counts = f"{prompts}.map(t => +(t.match(/\\d+/) || [0])[0])"
    def run_all():
        "Run > Run All Cells, once the notebook has focus and the item is enabled; returns when the cells have started."
        started = f"() => {prompts}.some(t => t.includes('*')) || Math.max(...{counts}) > {max(page.evaluate(counts))}"  # a cell queued or run since
        for attempt in range(3):
            page.locator('.jp-Notebook .jp-Cell').first.click()
            page.locator('.lm-MenuBar-itemLabel', has_text='Run').first.click()
            page.locator('.lm-Menu-item[data-command="runmenu:run-all"]:not(.lm-mod-disabled)').click(timeout=30_000)
            try: wait_until(started, 20, 'Run All Cells did not start the notebook'); return
            except pytest.fail.Exception:
                if attempt == 2: raise
                page.keyboard.press('Escape')
    # Run All queues every code cell at once (each prompt shows *): it has ended when no prompt does and the kernel is idle.
    # A cell that fails shows its error and the kernel drops the rest. A cell whose execution JupyterLab cancelled (the
    # kernel restarted under it: CI met one, the rest of the notebook left with empty prompts and no output) is not
    # a cell failing: Run All is given once more, as a person would, and that must run every cell.
    ended = f"() => ({IDLE})() && {prompts}.length > 0 && !{prompts}.some(t => t.includes('*'))"
    cancelled = f"() => {prompts}.some(t => !/\\d/.test(t)) && !document.querySelector('.jp-OutputArea-output[data-mime-type=\"application/vnd.jupyter.stderr\"]')"
    for attempt in range(2):
        run_all()
        wait_until(ended, 300, 'Run All Cells did not end')
        if not page.evaluate(cancelled): break
        assert attempt == 0, f'JupyterLab left cells unrun twice, with no error; {evidence()}'
        print(f'JupyterLab left cells unrun with no error (executions cancelled); Run All again. {evidence()}')
    page.keyboard.press('Control+s')  # saved when the server has the file: the tab is no longer marked dirty
    page.wait_for_function("() => !document.querySelector('.jp-mod-dirty')", timeout=30_000, polling=200)
    saved = json.loads((root/'00c_metrics.ipynb').read_text())
    code = [c for c in saved['cells'] if c['cell_type'] == 'code']
    errors = [o for c in code for o in c['outputs'] if o['output_type'] == 'error']
    assert not errors, f"{errors[0]['ename']}: {errors[0]['evalue']}"
    assert all(c['execution_count'] for c in code), [c['source'][:1] for c in code if not c['execution_count']]
    assert page.locator('.jp-OutputArea-output img').count() >= 1  # a plot rendered
    assert page.evaluate("[...document.querySelectorAll('.jp-OutputArea-output img')].every(i => i.naturalWidth > 0)")
    assert any('image/png' in o.get('data', {}) for c in code for o in c['outputs'])
    assert all(u.startswith(url) for u in page.requests), [u for u in page.requests if not u.startswith(url)]  # nothing left the machine
    page.screenshot(path=str(tmp_path/'jupyterlab.png'))
