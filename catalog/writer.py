"""Predictions + accepted catalog rows -> the enriched catalog in Parquet.

Every accepted row comes out once, its original columns unchanged, plus for each
target attribute (column names in schemas/catalog_output.md):
  <slug>__value          the extracted value; null when not predicted or "no value"
  <slug>__confidence     the model's confidence in that answer, in [0, 1]
  <slug>__model_version  the model that answered; null when the row already had it
A model that the evaluator did not bless fills nothing: the summary says why.
Rows in = rows out + quarantined is checked; a mismatch fails the run. Beside the
Parquet: the review queue of the values the model is least sure of (catalog/review_queue.py).
"""
import hashlib
import json
import logging
import os

import apache_beam as beam
import pyarrow as pa
import tensorflow as tf

from catalog import questions as cq
from catalog import review_queue
from evaluation import run_report
from catalog.columns import output_columns
from evaluation.gate import METRICS_FILE
from catalog.files import read_json

log = logging.getLogger(__name__)

SUMMARY_FILE = 'summary.json'
REPORT_FILE = run_report.REPORT_FILE


def output_schema(input_schema: pa.Schema, attributes) -> pa.Schema:
  schema = input_schema
  for attribute in attributes:
    value, confidence, version = output_columns(attribute)
    schema = (schema.append(pa.field(value, pa.string()))
              .append(pa.field(confidence, pa.float64())).append(pa.field(version, pa.string())))
  return schema


def model_version(model_uri: str) -> str:
  """Model artifact folder name plus a hash of its saved_model.pb: which model, exactly."""
  from serving.inference import serving_dir
  with tf.io.gfile.GFile(os.path.join(serving_dir(model_uri), 'saved_model.pb'), 'rb') as f:
    digest = hashlib.sha256(f.read()).hexdigest()[:12]
  return f'{os.path.basename(model_uri.rstrip("/"))}-{digest}'


def parse_prediction_log(log):
  """(product_id, (attribute, value, confidence)) from one PredictionLog of BulkInferrer."""
  request, response = log.predict_log.request, log.predict_log.response
  serialized = tf.make_ndarray(request.inputs['examples']).reshape(-1)
  values = tf.make_ndarray(response.outputs['value']).reshape(-1)
  confidences = tf.make_ndarray(response.outputs['confidence']).reshape(-1)
  for example_bytes, value, confidence in zip(serialized, values, confidences):
    features = tf.train.Example.FromString(example_bytes).features.feature
    product_id = features[cq.ID].bytes_list.value[0].decode('utf-8')
    attribute = features['attribute'].bytes_list.value[0].decode('utf-8')
    yield product_id, (attribute, value.decode('utf-8') or None, float(confidence))


def fill_row(keyed, attributes, version):
  _, grouped = keyed
  rows, answers = list(grouped['rows']), {a: (v, c) for a, v, c in grouped['answers']}
  for row in rows:   # exactly one: ids are unique after CatalogQuestionGen
    row = dict(row)
    for attribute in attributes:
      value_col, confidence_col, version_col = output_columns(attribute)
      value, confidence = answers.get(attribute, (None, None))
      row[value_col], row[confidence_col] = value, confidence
      row[version_col] = version if attribute in answers else None
    yield row


def write_enriched(pipeline, rows_uri, predictions_pattern, output_uri, attributes, version,
                   use_description, review_size=0):
  from tensorflow_serving.apis import prediction_log_pb2
  schema = cq.read_schema(os.path.join(rows_uri, 'accepted', '*.parquet'))
  rows = (pipeline | 'ReadRows' >> beam.io.ReadFromParquet(os.path.join(rows_uri, 'accepted', '*.parquet'))
          | 'KeyRows' >> beam.Map(lambda r: (str(r[cq.ID]), r)))
  answers = (pipeline | 'ReadPredictions' >> beam.io.ReadFromTFRecord(
                 predictions_pattern, coder=beam.coders.ProtoCoder(prediction_log_pb2.PredictionLog))
             | 'ParsePredictions' >> beam.FlatMap(parse_prediction_log))
  filled = ({'rows': rows, 'answers': answers} | 'Join' >> beam.CoGroupByKey()
            | 'Fill' >> beam.FlatMap(fill_row, attributes, version))
  _ = filled | 'WriteParquet' >> beam.io.WriteToParquet(
      os.path.join(output_uri, 'catalog'), output_schema(schema, attributes), file_name_suffix='.parquet')
  if review_size > 0:
    _ = (filled | 'ReviewCandidates' >> beam.FlatMap(
            lambda r: review_queue.candidates(r, attributes, cq.context_of(r, use_description), version))
         | 'LeastSure' >> beam.combiners.Top.PerKey(
             review_size, key=lambda q: (q['confidence'], q['product_id']), reverse=True)
         | 'QueueRows' >> beam.FlatMap(lambda kv: kv[1])
         | 'OneList' >> beam.combiners.ToList()
         | 'WriteQueue' >> beam.Map(review_queue.write_queue, output_uri))
  counts = (filled | 'CountFilled' >> beam.FlatMap(
      lambda r: [('rows_out', 1)] + [('filled: ' + a, 1) for a in attributes if r[output_columns(a)[0]]])
            | 'Sum' >> beam.CombinePerKey(sum) | 'ToDict' >> beam.combiners.ToDict())
  return counts


def finish_summary(counts, rows_uri, output_uri, attributes, version, review_size=0, refused=''):
  """refused: why the gate refused this run's model, when the served model filled instead."""
  with tf.io.gfile.GFile(os.path.join(rows_uri, cq.SUMMARY_FILE)) as f:
    catalog = json.load(f)
  summary = {'filled': True, 'model_version': version, 'refused': refused, 'rows_in': catalog['rows_in'],
             'rows_out': counts.get('rows_out', 0), 'quarantined': catalog['quarantined'],
             'quarantine_reasons': catalog['quarantine_reasons'],
             'questions': catalog['questions'], 'categories': catalog.get('categories'),
             'values_filled': {a: counts.get('filled: ' + a, 0) for a in attributes},
             'catalog_files': os.path.join(output_uri, 'catalog-*.parquet'),
             'quarantine_files': os.path.join(rows_uri, 'quarantined', '*.parquet')}
  if review_size > 0:
    summary['review_queue'] = review_queue.queue_paths(output_uri)
  write_summary(output_uri, summary)
  if summary['rows_in'] != summary['rows_out'] + summary['quarantined']:
    raise RuntimeError(f'rows in ({summary["rows_in"]}) != rows out ({summary["rows_out"]}) '
                       f'+ quarantined ({summary["quarantined"]})')
  return summary


def write_summary(output_uri, summary):
  with tf.io.gfile.GFile(os.path.join(output_uri, SUMMARY_FILE), 'w') as f:
    json.dump(summary, f, indent=2)
  log.debug('enriched catalog: %s', json.dumps(summary, indent=2))


def read_gate_metrics(evaluation_uri):
  """The gate's metrics.json (evaluation/gate.py), or None if absent."""
  return read_json(evaluation_uri, METRICS_FILE)


def read_summary(output_uri):
  with tf.io.gfile.GFile(os.path.join(output_uri, SUMMARY_FILE)) as f:
    return json.load(f)
