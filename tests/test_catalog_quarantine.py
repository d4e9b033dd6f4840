"""A catalog made mostly of bad rows: every row comes out once, enriched or quarantined
with its reason, through question generation and the Parquet writer."""
import glob
import json
import os

import apache_beam as beam
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import tensorflow as tf
from tensorflow_serving.apis import prediction_log_pb2

from catalog import questions as cq
from catalog import writer as cw

ATTRIBUTES = ['Brand Name', 'Color', 'Material']
BAD_ROWS = [
    ({'product_id': None, 'title': 'Voltis Red Kettle'}, 'missing product_id'),
    ({'product_id': '  ', 'title': 'Voltis Red Kettle'}, 'missing product_id'),
    ({'product_id': 'A1', 'title': None}, 'missing title'),
    ({'product_id': 'A2', 'title': ''}, 'empty title'),
    ({'product_id': 'A3', 'title': ' \t '}, 'empty title'),
    ({'product_id': 'D1', 'title': 'Kitchara Glass Bottle'}, 'duplicate product_id (2 rows)'),
    ({'product_id': 'D1', 'title': 'Kitchara Glass Bottle Blue'}, 'duplicate product_id (2 rows)'),
    # Checked before ids are compared: counts as its own problem, not as a third D1.
    ({'product_id': 'D1', 'title': None}, 'missing title'),
    ({'product_id': 'D2', 'title': 'Aquaro Tent'}, 'duplicate product_id (2 rows)'),
    ({'product_id': 'D2', 'title': 'Aquaro Tent'}, 'duplicate product_id (2 rows)'),
]
GOOD_ROWS = [{'product_id': 'G1', 'title': 'Lumora Black Mesh Running Shoes', 'Color': 'Black'},
             {'product_id': 'G2', 'title': 'Brisko Cork Yoga Mat'}]


def _write_catalog(path, rows, schema):
  os.makedirs(os.path.dirname(path), exist_ok=True)
  pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)


def _schema(title_type=pa.string()):
  return pa.schema([('product_id', pa.string()), ('title', title_type), ('Color', pa.string())])


def _questions(tmp_path, catalog_pattern):
  rows_uri, questions_uri = str(tmp_path / 'rows'), str(tmp_path / 'questions')
  with beam.Pipeline() as pipeline:
    cq.build_questions(pipeline, catalog_pattern, rows_uri, questions_uri, cq.Settings(tuple(ATTRIBUTES)))
  with open(os.path.join(rows_uri, cq.SUMMARY_FILE)) as f:
    summary = json.load(f)
  quarantined = [r for path in glob.glob(os.path.join(rows_uri, 'quarantined', '*.parquet'))
                 for r in pq.read_table(path).to_pylist()]
  questions = [tf.train.Example.FromString(r.numpy()) for r in tf.data.TFRecordDataset(
      glob.glob(os.path.join(questions_uri, '*', '*')), compression_type='GZIP')]
  return rows_uri, summary, quarantined, questions


def _prediction_log(examples):
  """What the inferrer writes for a batch: the request's examples, a value per example."""
  log = prediction_log_pb2.PredictionLog()
  serialized = [e.SerializeToString() for e in examples]
  log.predict_log.request.inputs['examples'].CopyFrom(tf.make_tensor_proto(serialized))
  values = [e.features.feature['title'].bytes_list.value[0].split(b' ')[0] for e in examples]
  log.predict_log.response.outputs['value'].CopyFrom(tf.make_tensor_proto(np.array(values)[:, None]))
  log.predict_log.response.outputs['confidence'].CopyFrom(
      tf.make_tensor_proto(np.full((len(examples), 1), 0.75, np.float32)))
  return log


def test_every_bad_row_is_quarantined_with_its_reason_and_rows_add_up(tmp_path):
  # Two files: the rows of one product id may arrive from different files.
  rows = [row for row, _ in BAD_ROWS] + GOOD_ROWS
  _write_catalog(str(tmp_path / 'catalog' / 'part-0.parquet'), rows[:6], _schema())
  _write_catalog(str(tmp_path / 'catalog' / 'part-1.parquet'), rows[6:], _schema())
  rows_uri, summary, quarantined, questions = _questions(tmp_path, str(tmp_path / 'catalog' / '*.parquet'))

  assert summary['rows_in'] == len(rows) == summary['accepted'] + summary['quarantined']
  assert summary['accepted'] == len(GOOD_ROWS) and summary['quarantined'] == len(BAD_ROWS)
  assert sorted(r[cq.QUARANTINE_REASON] for r in quarantined) == sorted(reason for _, reason in BAD_ROWS)
  assert summary['quarantine_reasons']['missing product_id'] == 2
  # G1 knows its Color: 2 questions and its Color asked again as an alias probe; G2: 3.
  asked = lambda qs: sorted((q.features.feature['product_id'].bytes_list.value[0].decode(),
                             q.features.feature['attribute'].bytes_list.value[0].decode()) for q in qs)
  probes = [q for q in questions if cq.KNOWN_VALUE in q.features.feature]
  assert asked([q for q in questions if q not in probes]) == [
      ('G1', 'Brand Name'), ('G1', 'Material'),
      ('G2', 'Brand Name'), ('G2', 'Color'), ('G2', 'Material')]
  assert asked(probes) == [('G1', 'Color')] and summary['alias_probes'] == 1
  assert probes[0].features.feature[cq.KNOWN_VALUE].bytes_list.value == [b'Black']

  # The writer joins the answers back: one row out per accepted row, the invariant holds.
  predictions = str(tmp_path / 'predictions' / 'logs.tfrecord')
  os.makedirs(os.path.dirname(predictions))
  with tf.io.TFRecordWriter(predictions) as writer:
    writer.write(_prediction_log(questions[:2]).SerializeToString())
    writer.write(_prediction_log(questions[2:]).SerializeToString())
  output_uri = str(tmp_path / 'enriched')
  # The scripted model reads the title's first word for every attribute: each fills.
  rules = cw.FillRules(one_attribute_per_value=False)
  with beam.Pipeline() as pipeline:
    counts = cw.write_enriched(pipeline, rows_uri, predictions, output_uri, ATTRIBUTES, 'model-1', True,
                               rules=rules)
    _ = counts | beam.Map(cw.finish_summary, rows_uri, output_uri, ATTRIBUTES, 'model-1', True, rules=rules)
  with open(os.path.join(output_uri, cw.SUMMARY_FILE)) as f:
    final = json.load(f)
  out = {r['product_id']: r for r in pq.read_table(glob.glob(final['catalog_files'])[0]).to_pylist()}
  assert final['rows_in'] == final['rows_out'] + final['quarantined'] == len(rows)
  assert set(out) == {'G1', 'G2'}
  assert out['G1']['color__value'] is None and out['G1']['color__model_version'] is None   # known, probed
  assert out['G2']['color__value'] == 'Brisko' and out['G2']['color__confidence'] == 0.75
  assert final['values_filled'] == {'Brand Name': 2, 'Color': 1, 'Material': 2}


def test_a_catalog_whose_titles_are_not_text_is_all_quarantined(tmp_path):
  rows = [{'product_id': f'N{i}', 'title': i, 'Color': None} for i in range(5)]
  _write_catalog(str(tmp_path / 'catalog' / 'part-0.parquet'), rows, _schema(pa.int64()))
  _, summary, quarantined, questions = _questions(tmp_path, str(tmp_path / 'catalog' / '*.parquet'))
  assert summary['rows_in'] == 5 and summary['accepted'] == 0 and not questions
  assert {r[cq.QUARANTINE_REASON] for r in quarantined} == {'non-text title (int)'}


def test_files_that_disagree_on_the_schema_are_a_clear_error(tmp_path):
  _write_catalog(str(tmp_path / 'catalog' / 'part-0.parquet'), GOOD_ROWS[1:], _schema())
  _write_catalog(str(tmp_path / 'catalog' / 'part-1.parquet'), [{'product_id': 'X', 'title': 3, 'Color': None}],
                 _schema(pa.int64()))
  with pytest.raises(ValueError, match='disagree on their schema.*title'):
    cq.read_schema(str(tmp_path / 'catalog' / '*.parquet'))
