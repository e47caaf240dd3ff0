#!/usr/bin/env bash
# The project's tests: every notebook under nbdev_test (one pytest item each) and the pytest suite.
set -uo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh opensmile || exit 1  # the optional openSMILE branch is tested too
bash tools/browser.sh || exit 1  # Debian's chromium for the browser tests
export MPLBACKEND=Agg PYTHONHASHSEED=0
# two test workers each run torch with one thread per core: OpenMP's idle threads spin while they wait for work, and
# with four threads on two cores each process spends its time slices spinning. Results do not depend on it.
export OMP_WAIT_POLICY=PASSIVE
# glibc keeps freed memory for reuse instead of mapping large tensors afresh at every step: the settings the report
# kernels get (ALLOCATOR_ENV in nbs/07d_runner.ipynb), for the chapters, which run in the test processes themselves
eval "$(.venv/bin/python -c "from ravdess_emo.runner import ALLOCATOR_ENV; print(' '.join(f'export {k}={v};' for k, v in ALLOCATOR_ENV.items()))")"
# two workers, each taking whole test files (--dist loadfile keeps a file's module fixtures on one worker): much of a
# test's time is one-threaded (kernel start-up, imports, waiting on subprocesses), so two files side by side finish sooner
.venv/bin/python -m pytest -q -p no:cacheprovider -n 2 --dist loadfile tests "$@"
