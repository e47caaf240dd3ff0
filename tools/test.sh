#!/usr/bin/env bash
# The project's tests: every notebook under nbdev_test (one pytest item each) and the pytest suite.
set -uo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh opensmile || exit 1  # the optional openSMILE branch is tested too
bash tools/browser.sh || exit 1  # Debian's chromium for the browser tests
export MPLBACKEND=Agg PYTHONHASHSEED=0
# two workers, each taking whole test files (--dist loadfile keeps a file's module fixtures on one worker): much of a
# test's time is one-threaded (kernel start-up, imports, waiting on subprocesses), so two files side by side finish sooner
.venv/bin/python -m pytest -q -p no:cacheprovider -n 2 --dist loadfile tests "$@"
