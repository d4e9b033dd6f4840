"""A run killed with SIGKILL during bulk inference completes when started again, with
every row once: each TFX execution writes to folders of its own, so a killed one leaves
nothing the next run reads."""
import os
import signal
import subprocess
import sys
import time

import pyarrow as pa
import pytest
import pyarrow.parquet as pq

from catalog.config import SAMPLE_TRIPLES
from pipelines.run_outputs import newest_run
from tests.conftest import sample_titles

pytestmark = pytest.mark.pipeline   # whole pipeline runs: the slow tier

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROWS = 3000


def _command(tmp_path, checkpoint):
  return [sys.executable, os.path.join(REPO, 'pipeline_runner.py'), '--local',
          '--pipeline-root', str(tmp_path / 'root'), '--metadata-path', str(tmp_path / 'metadata.sqlite'),
          '--serving-model-dir', str(tmp_path / 'serving'), '--checkpoint', checkpoint,
          '--catalog', str(tmp_path / 'catalog' / '*.parquet'), '--triples', SAMPLE_TRIPLES,
          '--attributes', 'Brand Name,Color,Material',
          '--train-steps', '2', '--batch-size', '8', '--max-seq-length', '48', '--min-f1', '0',
          '--adapt-steps', '0',
          # TensorFlow serves: slower per batch than ONNX Runtime on a tiny model, so there is a
          # middle to kill in; what a kill leaves behind does not depend on the runtime
          '--runtime', 'tensorflow', '--precision', 'float32',
          # small batches: bulk inference lasts long enough to be killed in the middle
          '--inference-batch-size', '4', '--bucket-size', '64']


def test_a_run_killed_during_bulk_inference_completes_when_started_again(tmp_path, tiny_checkpoint_dir):
  titles = sorted(set(sample_titles()))
  (tmp_path / 'catalog').mkdir()
  pq.write_table(pa.table({'product_id': [f'P{i:05d}' for i in range(ROWS)],
                           # distinct texts: each question is asked, none answered from a duplicate
                           'title': [f'{titles[i % len(titles)]} #{i}' for i in range(ROWS)]}),
                 str(tmp_path / 'catalog' / 'catalog.parquet'))
  command = _command(tmp_path, tiny_checkpoint_dir)

  first = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           start_new_session=True, cwd=REPO)
  seen = []
  for line in first.stdout:
    seen.append(line)
    if 'CatalogBulkInferrer ...' in line:
      time.sleep(5)                                   # inside bulk inference
      os.killpg(first.pid, signal.SIGKILL)            # the runner and its Beam workers
      break
  first.wait(timeout=60)
  seen.extend(first.stdout)   # what it printed before the kill and we had not read yet
  assert first.returncode == -signal.SIGKILL, ''.join(seen)
  # Killed inside bulk inference, not after it: the step never finished.
  assert not any('CatalogBulkInferrer done' in line for line in seen), ''.join(seen)

  second = subprocess.run(command, capture_output=True, text=True, cwd=REPO, timeout=900)
  assert second.returncode == 0, second.stdout + second.stderr
  assert 'CatalogBulkInferrer cached' not in second.stdout
  summary = newest_run(str(tmp_path / 'metadata.sqlite'), 'aveqa-catalog-enrichment').summary
  assert summary['rows_in'] == ROWS == summary['rows_out'] + summary['quarantined']
  files = [os.path.join(os.path.dirname(summary['catalog_files']), name)
           for name in os.listdir(os.path.dirname(summary['catalog_files'])) if name.endswith('.parquet')]
  ids = [i for path in files for i in pq.read_table(path, columns=['product_id'])['product_id'].to_pylist()]
  assert sorted(ids) == [f'P{i:05d}' for i in range(ROWS)]   # every row once
  answered = sum(1 for path in files for v in pq.read_table(path, columns=['color__model_version'])[
      'color__model_version'].to_pylist() if v)
  assert answered == summary['questions']['Color'] == ROWS     # every question answered
