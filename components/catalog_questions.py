"""Catalog rows -> one question per (product, missing target attribute), and a quarantine.

A row is quarantined, with its reason, when its product_id is missing or blank, its
title is missing, not text or blank, or its product_id appears on more than one row
(all rows of a duplicated id: the output is keyed by id, so which row to keep
cannot be decided for the user). Every row read is either accepted or quarantined.
"""
import json
import logging
import os
import re

import apache_beam as beam
import pyarrow as pa
import pyarrow.fs  # noqa: F401  (pa.fs)
import pyarrow.parquet as pq
import tensorflow as tf
from tfx.dsl.component.experimental.annotations import BeamComponentParameter, OutputArtifact, Parameter
from tfx.dsl.component.experimental.decorators import component
from tfx.types import artifact_utils, standard_artifacts

from components.artifacts import CatalogRows

log = logging.getLogger(__name__)

ID, TITLE, DESCRIPTION = 'product_id', 'title', 'description'
QUESTIONS_SPLIT = 'questions'
QUARANTINE_REASON = 'quarantine_reason'
SUMMARY_FILE = 'summary.json'


def parse_attributes(text: str):
  return [a.strip() for a in re.split(r'[,\n]', text) if a.strip()]


def _read_file_schema(path: str) -> pa.Schema:
  if '://' in path:   # gs://: pyarrow reads just the footer through its own filesystem
    filesystem, local = pa.fs.FileSystem.from_uri(path)
    return pq.read_schema(local, filesystem=filesystem)
  return pq.read_schema(path)


def read_schema(pattern: str) -> pa.Schema:
  """The catalog's schema, the same in every file (footers only: cheap at any size)."""
  files = sorted(tf.io.gfile.glob(pattern))
  if not files:
    raise FileNotFoundError(f'no catalog files match {pattern}')
  schema = _read_file_schema(files[0])
  missing = {ID, TITLE} - set(schema.names)
  if missing:
    raise ValueError(f'catalog {files[0]} lacks the column(s) {", ".join(sorted(missing))}')
  for path in files[1:]:
    other = _read_file_schema(path)
    if not other.equals(schema, check_metadata=False):
      differences = sorted(set(map(str, schema)) ^ set(map(str, other)))
      raise ValueError(f'catalog files disagree on their schema: {path} vs {files[0]}: '
                       f'{"; ".join(differences)}')
  return schema


def row_problem(row):
  """Why a row cannot be enriched, or None."""
  product_id = row.get(ID)
  if product_id is None or not str(product_id).strip():
    return 'missing product_id'
  title = row.get(TITLE)
  if title is None:
    return 'missing title'
  if not isinstance(title, str):
    return f'non-text title ({type(title).__name__})'
  if not title.strip():
    return 'empty title'
  return None


def is_known(row, attribute):
  value = row.get(attribute)
  return value is not None and str(value).strip() != ''


def context_of(row, use_description):
  description = row.get(DESCRIPTION) if use_description else None
  if isinstance(description, str) and description.strip():
    return f'{row[TITLE]} {description.strip()}'
  return row[TITLE]


def questions_for(row, attributes, use_description, repredict_known):
  """Serialized tf.Examples (product_id, title, attribute) for the attributes to predict."""
  b = lambda s: tf.train.Feature(bytes_list=tf.train.BytesList(value=[s.encode('utf-8')]))
  for attribute in attributes:
    if repredict_known or not is_known(row, attribute):
      yield tf.train.Example(features=tf.train.Features(feature={
          ID: b(str(row[ID])), 'title': b(context_of(row, use_description)),
          'attribute': b(attribute)})).SerializeToString()


def _split_duplicates(keyed):
  product_id, rows = keyed
  rows = list(rows)
  if len(rows) == 1:
    yield beam.pvalue.TaggedOutput('accepted', rows[0])
  else:
    for row in rows:
      yield beam.pvalue.TaggedOutput('quarantined', dict(row, **{QUARANTINE_REASON: f'duplicate product_id ({len(rows)} rows)'}))


def _validate(row):
  problem = row_problem(row)
  if problem:
    yield beam.pvalue.TaggedOutput('quarantined', dict(row, **{QUARANTINE_REASON: problem}))
  else:
    yield beam.pvalue.TaggedOutput('keyed', (str(row[ID]), row))


def build_questions(pipeline, catalog_pattern, attributes, rows_uri, questions_uri,
                    use_description=False, repredict_known=False):
  """Beam part: validate, quarantine, and write questions and accepted rows."""
  schema = read_schema(catalog_pattern)
  quarantine_schema = schema.append(pa.field(QUARANTINE_REASON, pa.string()))
  rows = pipeline | 'ReadCatalog' >> beam.io.ReadFromParquet(catalog_pattern)
  checked = rows | 'Validate' >> beam.FlatMap(_validate).with_outputs('keyed', 'quarantined')
  unique = (checked.keyed | 'GroupById' >> beam.GroupByKey()
            | 'SplitDuplicates' >> beam.FlatMap(_split_duplicates).with_outputs('accepted', 'quarantined'))
  accepted = unique.accepted
  quarantined = (checked.quarantined, unique.quarantined) | 'AllQuarantined' >> beam.Flatten()

  _ = accepted | 'WriteAccepted' >> beam.io.WriteToParquet(
      os.path.join(rows_uri, 'accepted', 'rows'), schema, file_name_suffix='.parquet')
  _ = quarantined | 'WriteQuarantined' >> beam.io.WriteToParquet(
      os.path.join(rows_uri, 'quarantined', 'rows'), quarantine_schema, file_name_suffix='.parquet')
  questions = accepted | 'Questions' >> beam.FlatMap(
      questions_for, attributes, use_description, repredict_known)
  _ = questions | 'WriteQuestions' >> beam.io.WriteToTFRecord(
      os.path.join(questions_uri, f'Split-{QUESTIONS_SPLIT}', 'data_tfrecord'), file_name_suffix='.gz')

  def count(pcoll, label, key_fn):
    return pcoll | label >> beam.Map(lambda x: (key_fn(x), 1))
  counts = (
      count(rows, 'CountIn', lambda _: 'rows_in'),
      count(accepted, 'CountAccepted', lambda _: 'accepted'),
      count(quarantined, 'CountQuarantined', lambda r: 'quarantined: ' + r[QUARANTINE_REASON]),
      accepted | 'CountQuestions' >> beam.FlatMap(
          lambda r: [('questions: ' + a, 1) for a in attributes
                     if repredict_known or not is_known(r, a)]),
  ) | 'FlattenCounts' >> beam.Flatten() | 'Sum' >> beam.CombinePerKey(sum) | 'ToDict' >> beam.combiners.ToDict()
  _ = counts | 'Summary' >> beam.Map(_write_summary, rows_uri, attributes)


def _write_summary(counts, rows_uri, attributes):
  summary = {'rows_in': counts.get('rows_in', 0), 'accepted': counts.get('accepted', 0),
             'quarantined': sum(v for k, v in counts.items() if k.startswith('quarantined: ')),
             'quarantine_reasons': {k.split(': ', 1)[1]: v for k, v in sorted(counts.items())
                                    if k.startswith('quarantined: ')},
             'questions': {a: counts.get('questions: ' + a, 0) for a in attributes},
             'target_attributes': attributes}
  with tf.io.gfile.GFile(os.path.join(rows_uri, SUMMARY_FILE), 'w') as f:
    json.dump(summary, f, indent=2)
  log.info('catalog: %d rows in, %d accepted, %d quarantined', summary['rows_in'], summary['accepted'],
           summary['quarantined'])


@component(use_beam=True)
def CatalogQuestionGen(
    catalog_pattern: Parameter[str],
    target_attributes: Parameter[str],
    questions: OutputArtifact[standard_artifacts.Examples],
    catalog_rows: OutputArtifact[CatalogRows],
    use_description: Parameter[int],
    repredict_known: Parameter[int],
    beam_pipeline: BeamComponentParameter[beam.Pipeline] = None,
):
  """Catalog Parquet (local or gs:// pattern) -> questions Examples + accepted/quarantined rows."""
  with beam_pipeline as pipeline:
    build_questions(pipeline, catalog_pattern, parse_attributes(target_attributes),
                    catalog_rows.uri, questions.uri, bool(use_description), bool(repredict_known))
  questions.split_names = artifact_utils.encode_split_names([QUESTIONS_SPLIT])
  questions.set_string_custom_property('file_format', 'tfrecords_gzip')
  questions.set_string_custom_property('payload_format', 'FORMAT_TF_EXAMPLE')
