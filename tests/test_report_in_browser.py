"""report.html as a browser shows it: headless Chromium loads the page, and a script added
to a copy of it records what the browser made of it (every image decoded, the sections,
which scripts exist: a seller's <script> in a title must stay text)."""
import json
import os
import re
import shutil
import subprocess

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from evaluation import precision_targets
from tests.test_run_report import ATTRIBUTES, _catalog, _gate, _report

BROWSER = shutil.which('chromium') or shutil.which('chromium-browser')
# CI installs Chromium (setup/install.sh) and sets this, so a missing browser fails there.
REQUIRED = os.environ.get('AVEQA_REQUIRE_BROWSER') == '1'

PROBE = """<script id="probe">window.addEventListener('load', () => {
  document.body.setAttribute('data-probe', JSON.stringify({
    images: [...document.images].map(i => [i.alt, i.complete, i.naturalWidth]),
    headings: [...document.querySelectorAll('h2')].map(h => h.textContent),
    scripts: [...document.scripts].map(s => s.id),
    overflowing: [...document.querySelectorAll('img')].filter(
        i => i.getBoundingClientRect().right > document.documentElement.clientWidth + 1).length}));
});</script>"""


def _in_browser(page_path, tmp_path):
  if BROWSER is None:
    if REQUIRED:
      pytest.fail('Chromium is not installed (setup/install.sh installs it)')
    pytest.skip('Chromium is not installed (setup/install.sh installs it)')
  with open(page_path, encoding='utf-8') as f:
    page = f.read()
  probed = tmp_path / 'probed.html'
  probed.write_text(page.replace('</body>', PROBE + '</body>'), encoding='utf-8')
  done = subprocess.run([BROWSER, '--headless', '--no-sandbox', '--disable-gpu', '--window-size=1280,900',
                         '--virtual-time-budget=10000', f'--user-data-dir={tmp_path / "profile"}',
                         '--dump-dom', probed.as_uri()], capture_output=True, text=True, timeout=120)
  assert done.returncode == 0, done.stderr[-2000:]
  found = re.search(r'data-probe="([^"]*)"', done.stdout)
  assert found, done.stdout[-2000:]
  return json.loads(found.group(1).replace('&quot;', '"').replace('&amp;', '&').replace('&lt;', '<')
                    .replace('&gt;', '>'))


def test_the_report_renders_every_chart_and_keeps_seller_text_as_text(tmp_path):
  summary = _catalog(tmp_path)
  for path in (tmp_path / 'out').glob('*.parquet'):   # every title a seller's script
    table = pq.read_table(str(path))
    titles = pa.array(['<script>alert(1)</script> Nike <img src=x onerror=alert(2)>'] * table.num_rows)
    pq.write_table(table.set_column(table.column_names.index('title'), 'title', titles), str(path))
  evidence = {'Brand Name': {'gold_values': 60, 'fills': [[0.99, 1]] * 50 + [[0.5, 0]] * 10},
              'Material': {'gold_values': 5, 'fills': [[0.9, 1]] * 3}}
  thresholds = precision_targets.thresholds(evidence, {'*': 0.9}, ATTRIBUTES)
  _report(tmp_path, dict(summary, values_withheld={'Brand Name': 1, 'Material': 1}), _gate(),
          thresholds=thresholds, examples_per_attribute=10)
  seen = _in_browser(tmp_path / 'report' / 'report.html', tmp_path)
  # Two confidence histograms and two precision-recall curves, each decoded by the browser.
  alts = [alt for alt, _, _ in seen['images']]
  assert sorted(alts) == sorted([f'confidence histogram: {a}' for a in ATTRIBUTES]
                                + [f'precision and recall: {a}' for a in ATTRIBUTES])
  assert all(complete and width > 0 for _, complete, width in seen['images']), seen['images']
  assert seen['overflowing'] == 0
  assert 'Precision targets' in seen['headings'] and 'Values filled' in seen['headings']
  # The sellers' scripts and image tags stay text: no script but the probe, no image but ours.
  assert seen['scripts'] == ['probe'] and len(seen['images']) == 4
