"""gs:// for real: the runner reads the triples, the catalog and the
checkpoint from a bucket and writes the pipeline root, the pushed model, the Parquet
output and the run report to it, against a local Cloud Storage endpoint
(tests/gcs_emulator.py: gcp-storage-emulator, with a TLS proxy for TensorFlow's own gs://
client). Nothing is staged on local disk but ML Metadata's SQLite file. What was written
is checked through another client (google-cloud-storage), as a user downstream would."""
import glob
import io
import os
import re
import subprocess
import sys

import pyarrow.parquet as pq
import pytest

from catalog.config import SAMPLE_CATALOG, SAMPLE_TRIPLES
from tests.gcs_emulator import gcs_emulator

pytestmark = pytest.mark.pipeline   # whole pipeline runs: the slow tier

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUCKET = 'catalog-team'
ATTRIBUTES = 'Brand Name,Color,Material'


@pytest.fixture(scope='module')
def gcs():
  with gcs_emulator(buckets=[BUCKET]) as emulator:
    yield emulator


def _upload(bucket, pattern, prefix):
  for path in sorted(glob.glob(pattern)):
    bucket.blob(f'{prefix}/{os.path.basename(path)}').upload_from_filename(path)


def _run(gcs, tmp_path, *extra):
  command = [sys.executable, os.path.join(REPO, 'pipeline_runner.py'), '--local',
             '--pipeline-root', f'gs://{BUCKET}/root', '--serving-model-dir', f'gs://{BUCKET}/serving',
             '--metadata-path', str(tmp_path / 'metadata.sqlite'),
             '--checkpoint', f'gs://{BUCKET}/checkpoint', '--catalog', f'gs://{BUCKET}/catalog/*.parquet',
             '--attributes', ATTRIBUTES, '--batch-size', '8', '--max-seq-length', '48', '--min-f1', '0',
             '--adapt-steps', '2',
             # Beam in this process: without credentials, each of Beam's worker processes
             # would first wait about 20 s for Google's default-credentials lookup to give up.
             *extra, '--', '--direct_running_mode=in_memory']
  return subprocess.run(command, env={**os.environ, **gcs.env}, cwd=REPO, capture_output=True,
                        text=True, timeout=1200)


def _blobs(gcs, prefix):
  return {b.name: b for b in gcs.client().list_blobs(BUCKET, prefix=prefix)}


def _rows(gcs, uri):
  """Rows of the Parquet files a gs:// glob in the runner's output names."""
  prefix, _, _ = uri[len(f'gs://{BUCKET}/'):].partition('*')
  files = [b for name, b in sorted(_blobs(gcs, prefix).items()) if name.endswith('.parquet')]
  assert files, uri
  return [row for b in files for row in pq.read_table(io.BytesIO(b.download_as_bytes())).to_pylist()]


@pytest.fixture(scope='module')
def full_run(gcs, tmp_path_factory, tiny_checkpoint_dir):
  bucket = gcs.client().bucket(BUCKET)
  _upload(bucket, SAMPLE_TRIPLES, 'triples')
  _upload(bucket, SAMPLE_CATALOG, 'catalog')
  _upload(bucket, os.path.join(tiny_checkpoint_dir, '*'), 'checkpoint')
  tmp_path = tmp_path_factory.mktemp('gcs_run')
  return tmp_path, _run(gcs, tmp_path, '--triples', f'gs://{BUCKET}/triples/*', '--train-steps', '2')


def test_a_run_on_cloud_storage_reports_and_writes_its_outputs_there(gcs, full_run):
  tmp_path, run = full_run
  assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
  out = run.stdout
  catalog_files = re.search(r'^Filled catalog: (\S+)$', out, re.M).group(1)
  quarantine_files = re.search(r'^Quarantine: +(\S+)$', out, re.M).group(1)
  report = re.search(r'^Run report: +(\S+)$', out, re.M).group(1)
  for uri in (catalog_files, quarantine_files, report):
    assert uri.startswith(f'gs://{BUCKET}/root/'), uri

  rows_out, quarantined = _rows(gcs, catalog_files), _rows(gcs, quarantine_files)
  catalog_in = [row for path in sorted(glob.glob(SAMPLE_CATALOG)) for row in pq.read_table(path).to_pylist()]
  rows_in, out_count, quarantine_count = map(int, re.search(
      r'^Rows in (\d+) = rows out (\d+) \+ quarantined (\d+)$', out, re.M).groups())
  assert rows_in == len(catalog_in) == len(rows_out) + len(quarantined)
  assert (out_count, quarantine_count) == (len(rows_out), len(quarantined))
  assert {r['product_id'] for r in rows_out} | {r['product_id'] for r in quarantined} == \
      {r['product_id'] for r in catalog_in}
  assert 'brand_name__value' in rows_out[0]

  html = _blobs(gcs, report[len(f'gs://{BUCKET}/'):])[report[len(f'gs://{BUCKET}/'):]].download_as_text()
  assert 'AVEQA run report' in html and 'Values filled' in html
  assert any(name.endswith('saved_model.pb') for name in _blobs(gcs, 'serving/'))
  assert [os.path.basename(p) for p in glob.glob(str(tmp_path / '*'))] == ['metadata.sqlite']


def test_the_runs_anomalies_are_read_from_the_bucket(gcs, full_run):
  from pipelines.run_outputs import newest_run
  tmp_path, run = full_run
  assert run.returncode == 0
  outputs = newest_run(str(tmp_path / 'metadata.sqlite'), 'aveqa-catalog-enrichment')
  assert set(outputs.anomalies) == {'train', 'eval'}   # read from gs://, one per split
  assert outputs.summary['filled'] is True and outputs.report.startswith(f'gs://{BUCKET}/')


def test_enrich_only_on_cloud_storage_reuses_the_blessed_model(gcs, full_run):
  tmp_path, run = full_run
  assert run.returncode == 0
  again = _run(gcs, tmp_path, '--enrich-only')
  assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
  assert 'Trainer' not in again.stdout
  first = re.search(r'^Filled catalog: (\S+)$', run.stdout, re.M).group(1)
  second = re.search(r'^Filled catalog: (\S+)$', again.stdout, re.M).group(1)
  assert second != first and second.startswith(f'gs://{BUCKET}/root/')
  key = lambda rows: sorted((r['product_id'], r['color__value']) for r in rows)
  assert key(_rows(gcs, second)) == key(_rows(gcs, first))


def test_eval_triples_reads_the_triples_and_the_model_from_the_bucket_and_writes_the_report_there(
    gcs, full_run):
  tmp_path, run = full_run
  assert run.returncode == 0
  triples = sorted(name for name in _blobs(gcs, 'triples/'))[0]
  command = [sys.executable, os.path.join(REPO, 'pipeline_runner.py'),
             '--eval-triples', f'gs://{BUCKET}/{triples}', '--serving-model-dir', f'gs://{BUCKET}/serving',
             '--report-dir', f'gs://{BUCKET}/reports']
  evaluated = subprocess.run(command, env={**os.environ, **gcs.env}, cwd=REPO, capture_output=True,
                             text=True, timeout=600)
  assert evaluated.returncode == 0, evaluated.stdout[-3000:] + evaluated.stderr[-3000:]
  assert f'Wrote gs://{BUCKET}/reports/metrics.json' in evaluated.stdout
  assert {'reports/metrics.json', 'reports/metrics.md', 'reports/predictions.jsonl'} <= set(_blobs(gcs, 'reports/'))
