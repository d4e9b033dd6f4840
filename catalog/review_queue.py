"""The review loop: the filled values a person should see first go to that person, and what
the person writes back becomes labelled training data.

Each run that fills the catalog writes, beside its Parquet output, review/review_queue.parquet
and review/review_queue.csv (the same rows, for spreadsheets): per attribute, the
`review_size` values found that most deserve a look, with

  product_id, attribute, text (what the model read), predicted_value (the catalog's
  spelling), span (the text's), confidence, threshold (the attribute's, for its precision
  target), filled (false: withheld below the threshold, or claimed), claimed_by (the
  attribute of the row that holds the same value, catalog/value_claims.py), in_vocabulary,
  model_version, reviewed_value (empty: to be filled in)

First the values outside the catalog's vocabulary (a new value, or a spelling nobody has
mapped), then those nearest their attribute's threshold on either side: a person's answer
there moves the threshold the most. Without a target, the least sure first; for an
attribute that cannot reach its target (it fills nothing), the surest first.

A reviewer writes the correct value into reviewed_value (the predicted one, if it is
right), or NULL when the text does not state the attribute, and leaves it empty to skip
the row. A later run reads such files with --reviewed: each reviewed row is a labelled
triple of its product (source 'reviewed') that replaces the triple mined from the
catalog's known value for the same product and attribute, if any.
"""
import io
import os
from typing import Dict, Iterator, List, Optional, Tuple

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import tensorflow as tf

from catalog import files
from catalog.span_alignment import NULL_VALUE, find_value_span
from catalog.triples import Triple

QUEUE_DIR = 'review'
QUEUE_NAME = 'review_queue'
COLUMNS = ('product_id', 'attribute', 'text', 'predicted_value', 'span', 'confidence', 'threshold',
           'filled', 'claimed_by', 'in_vocabulary', 'model_version', 'reviewed_value')
REQUIRED = ('product_id', 'attribute', 'text', 'reviewed_value')
_TYPES = {'confidence': pa.float64(), 'threshold': pa.float64(), 'filled': pa.bool_(), 'in_vocabulary': pa.bool_()}
SCHEMA = pa.schema([(c, _TYPES.get(c, pa.string())) for c in COLUMNS])

# What a reviewed row gives.
VALUE, NO_VALUE, NOT_IN_TEXT = 'value', 'no_value', 'value_not_in_text'
UNREVIEWED, INCOMPLETE = 'unreviewed', 'incomplete'   # no triple: empty reviewed_value; no id, attribute or text
OUTCOMES = (VALUE, NO_VALUE, NOT_IN_TEXT, UNREVIEWED, INCOMPLETE)


def queue_row(row, attribute, text: str, value: str, span: str, confidence: float, version: str,
              filled: bool, in_vocabulary: bool, threshold: Optional[float], claimed_by: Optional[str] = None) -> dict:
  """One value found in an enriched row, as the queue shows it."""
  return {'product_id': str(row['product_id']), 'attribute': attribute, 'text': text,
          'predicted_value': value, 'span': span, 'confidence': confidence, 'threshold': threshold,
          'filled': filled, 'claimed_by': claimed_by, 'in_vocabulary': in_vocabulary, 'model_version': version,
          'reviewed_value': None}


def priority(row) -> tuple:
  """Smaller first: outside the vocabulary, then nearest the threshold (see above)."""
  confidence, threshold = row['confidence'], row['threshold']
  if threshold is not None:
    distance = abs(confidence - threshold)
  else:
    distance = confidence if row['filled'] else 1 - confidence
  return (bool(row['in_vocabulary']), distance, row['product_id'])


def queue_order(rows: List[dict]) -> List[dict]:
  """Queue order: attribute, then priority."""
  return sorted(rows, key=lambda r: (r['attribute'], priority(r)))


def queue_paths(output_uri: str) -> Dict[str, str]:
  """{'parquet': path, 'csv': path} of the queue a run writes under output_uri."""
  return {kind: os.path.join(output_uri, QUEUE_DIR, f'{QUEUE_NAME}.{kind}') for kind in ('parquet', 'csv')}


# A spreadsheet runs a cell that starts with one of these as a formula: sellers' titles are
# untrusted text (CSV injection, OWASP). The CSV writes such a cell with a leading
# apostrophe, which spreadsheets show as text, and reading a queue back removes it; a cell
# that starts with an apostrophe gets one more, so the round trip gives the same text.
FORMULA_STARTS = ('=', '+', '-', '@', '\t', '\r')
TEXT_MARK = "'"


def as_text_cell(value):
  """The CSV cell of a value: neutralised when a spreadsheet would run it."""
  if isinstance(value, str) and value.startswith(FORMULA_STARTS + (TEXT_MARK,)):
    return TEXT_MARK + value
  return value


def from_text_cell(value):
  """as_text_cell undone."""
  if isinstance(value, str) and value.startswith(TEXT_MARK) and value[1:].startswith(FORMULA_STARTS + (TEXT_MARK,)):
    return value[1:]
  return value


def write_queue(rows: List[dict], output_uri: str) -> Dict[str, str]:
  """Writes the queue as Parquet and CSV under output_uri/review/; returns their paths."""
  rows = queue_order(rows)
  table = pa.Table.from_pylist(rows, schema=SCHEMA)
  csv_table = pa.Table.from_pylist([{k: as_text_cell(v) for k, v in row.items()} for row in rows], schema=SCHEMA)
  paths = queue_paths(output_uri)
  tf.io.gfile.makedirs(os.path.dirname(paths['parquet']))
  for kind, path in paths.items():
    buffer = io.BytesIO()
    if kind == 'parquet':
      pq.write_table(table, buffer)
    else:
      pacsv.write_csv(csv_table, buffer)
    with tf.io.gfile.GFile(path, 'wb') as f:   # local or gs://, as every output
      f.write(buffer.getvalue())
  return paths


def reviewed_files(pattern: str) -> List[str]:
  """The filled-in queues a --reviewed pattern names (Parquet or CSV); an error if none."""
  files = sorted(tf.io.gfile.glob(pattern))
  if not files:
    raise ValueError(f'--reviewed {pattern}: no file matches')
  unknown = [f for f in files if not f.endswith(('.parquet', '.csv'))]
  if unknown:
    raise ValueError(f'--reviewed {pattern}: not a .parquet or .csv review queue: {", ".join(unknown)}')
  return files


def _read_table(path: str) -> pa.Table:
  if path.endswith('.parquet'):
    table = files.read_columns(path, REQUIRED)
  else:
    with tf.io.gfile.GFile(path, 'rb') as f:
      data = pa.BufferReader(f.read())
    # Every column as text: a spreadsheet may have turned ids or values into numbers.
    table = pacsv.read_csv(data, convert_options=pacsv.ConvertOptions(
        column_types={c: pa.string() for c in REQUIRED}, strings_can_be_null=False))
    table = pa.Table.from_pylist([{k: from_text_cell(v) for k, v in row.items()} for row in table.to_pylist()],
                                 schema=table.schema)
  missing = [c for c in REQUIRED if c not in table.column_names]
  if missing:
    raise ValueError(f'{path}: not a review queue, it lacks the column(s) {", ".join(missing)}')
  return table


def read_reviewed(pattern: str) -> List[dict]:
  """The rows of every filled-in queue the pattern names, with `file` added. When one
  product and attribute were reviewed twice, the file later in name order wins."""
  latest = {}
  for path in reviewed_files(pattern):
    for row in _read_table(path).select(list(REQUIRED)).to_pylist():
      key = (row['product_id'], row['attribute'])
      if str(row['reviewed_value'] or '').strip():
        latest[key] = dict(row, file=path)
      else:
        latest.setdefault(key, dict(row, file=path))
  return [latest[key] for key in sorted(latest)]


def reviewed_triple(row) -> Tuple[str, Optional[Triple]]:
  """(outcome, triple or None) of one reviewed row: the reviewed value's span in the text,
  a "no value" triple for NULL, or a triple without a span (counted, not trained on, like
  a labelled triple whose value is not in its title) when the text does not hold it."""
  value = str(row.get('reviewed_value') or '').strip()
  text = row.get('text') or ''
  if not value:
    return UNREVIEWED, None
  if not (text.strip() and str(row.get('product_id') or '').strip() and (row.get('attribute') or '').strip()):
    return INCOMPLETE, None
  if value.upper() == NULL_VALUE:
    return NO_VALUE, Triple(text, row['attribute'], NULL_VALUE, None)
  span = find_value_span(text, value)
  return (VALUE if span else NOT_IN_TEXT), Triple(text, row['attribute'], value, span)


def count_reviewed(rows, rule, split: str) -> int:
  """Reviewed rows that give a triple of the split, as TriplesExampleGen will write them
  (for an epoch-based budget)."""
  return sum(rule.split_of_product(str(row['product_id']), row['attribute']) == split
             for row in rows if reviewed_triple(row)[1] is not None)
