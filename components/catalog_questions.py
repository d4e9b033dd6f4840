"""Catalog rows -> one question per (product, missing target attribute), and a quarantine.

A row is quarantined, with its reason, when its product_id is missing, blank or a
list, its title is missing, not text, blank or without any letter or digit, or its
product_id appears on more than one row (all rows of a duplicated id: the output is
keyed by id, so which row to keep cannot be decided for the user). Every row read is
either accepted or quarantined. Control characters in the title and description are
replaced by spaces in the text the model reads; the row's columns are kept unchanged.

Whole-file problems are errors naming the file, raised before the pipeline runs: no
file matches, a file is not Parquet, lacks product_id or title, or disagrees with the
others on the schema. A catalog with no rows is valid: nothing to fill, 0 rows counted.
"""
import json
import logging
import os
import re

import apache_beam as beam
import pyarrow as pa
import tensorflow as tf
from tfx.dsl.component.experimental.annotations import BeamComponentParameter, OutputArtifact, Parameter
from tfx.dsl.component.experimental.decorators import component
from tfx.types import artifact_utils, standard_artifacts

from components import parquet_files
from components.artifacts import CatalogRows
from components.span_alignment import has_letters_or_digits, without_control_characters

log = logging.getLogger(__name__)

ID, TITLE, DESCRIPTION = 'product_id', 'title', 'description'
QUESTIONS_SPLIT = 'questions'
QUARANTINE_REASON = 'quarantine_reason'
SUMMARY_FILE = 'summary.json'


def parse_attributes(text: str):
  return [a.strip() for a in re.split(r'[,\n]', text) if a.strip()]


def _read_file_schema(path: str) -> pa.Schema:
  return parquet_files.read_schema(path)   # just the footer, local or gs://


def _checked_file_schema(path: str) -> pa.Schema:
  """One file's schema, or a ValueError naming the file (pyarrow's own message does not)."""
  try:
    schema = _read_file_schema(path)
  except (pa.ArrowException, OSError) as error:
    raise ValueError(f'catalog file {path} is not a readable Parquet file: {error}') from error
  missing = {ID, TITLE} - set(schema.names)
  if missing:
    raise ValueError(f'catalog {path} lacks the column(s) {", ".join(sorted(missing))}')
  return schema


def read_schema(pattern: str) -> pa.Schema:
  """The catalog's schema, the same in every file (footers only: cheap at any size).

  Columns may come in another order from file to file: rows are read and written by
  column name.
  """
  files = sorted(tf.io.gfile.glob(pattern))
  if not files:
    raise FileNotFoundError(f'no catalog files match {pattern}')
  schema = _checked_file_schema(files[0])
  for path in files[1:]:
    differences = _schema_differences(schema, _checked_file_schema(path))
    if differences:
      raise ValueError(f'catalog files disagree on their schema: {path} vs {files[0]}: '
                       f'{"; ".join(differences)}')
  return schema


def _schema_differences(first: pa.Schema, other: pa.Schema):
  """'column: <type in other> instead of <type in first>' for each column that differs."""
  def describe(field):
    return 'absent' if field is None else str(field.type) + ('' if field.nullable else ' not null')
  fields, others = {f.name: f for f in first}, {f.name: f for f in other}
  return [f'{name}: {describe(others.get(name))} instead of {describe(fields.get(name))}'
          for name in sorted(set(fields) | set(others))
          if name not in fields or name not in others or not fields[name].equals(others[name])]


def _is_missing(value) -> bool:
  """None, NaN (pandas writes a missing number so) or blank text."""
  return value is None or value != value or not str(value).strip()


def row_problem(row):
  """Why a row cannot be enriched, or None."""
  product_id = row.get(ID)
  if isinstance(product_id, (list, dict)):
    return f'non-scalar product_id ({type(product_id).__name__})'
  if _is_missing(product_id):
    return 'missing product_id'
  title = row.get(TITLE)
  if title is None:
    return 'missing title'
  if not isinstance(title, str):
    return f'non-text title ({type(title).__name__})'
  title = without_control_characters(title)
  if not title.strip():
    return 'empty title'
  if not has_letters_or_digits(title):
    return 'title has no letters or digits'
  return None


def is_known(row, attribute):
  value = row.get(attribute)
  if isinstance(value, list):   # a list column: known when it holds a value
    return any(not _is_missing(v) for v in value)
  return not _is_missing(value)


def context_of(row, use_description):
  """The text the model reads; control characters become spaces (see span_alignment)."""
  title = without_control_characters(row[TITLE]).strip()
  description = row.get(DESCRIPTION) if use_description else None
  if isinstance(description, str):
    description = without_control_characters(description).strip()
    if description:
      return f'{title} {description}'
  return title


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
  if summary['rows_in'] != summary['accepted'] + summary['quarantined']:
    raise RuntimeError(f'catalog rows lost: {summary["rows_in"]} in, {summary["accepted"]} accepted, '
                       f'{summary["quarantined"]} quarantined')
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
    input_fingerprint: Parameter[str],
    beam_pipeline: BeamComponentParameter[beam.Pipeline] = None,
):
  """Catalog Parquet (local or gs:// pattern) -> questions Examples + accepted/quarantined rows.
  input_fingerprint: of the files the pattern matched when the run started; only TFX's
  cache reads it (new or changed files under the same pattern make a new cache key)."""
  with beam_pipeline as pipeline:
    build_questions(pipeline, catalog_pattern, parse_attributes(target_attributes),
                    catalog_rows.uri, questions.uri, bool(use_description), bool(repredict_known))
  questions.split_names = artifact_utils.encode_split_names([QUESTIONS_SPLIT])
  questions.set_string_custom_property('file_format', 'tfrecords_gzip')
  questions.set_string_custom_property('payload_format', 'FORMAT_TF_EXAMPLE')
