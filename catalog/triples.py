"""Reading labelled triples: `title \\u0001 attribute \\u0001 value` (AE-pub format).

One parser for the pipeline's ExampleGen and for the offline evaluation scripts.
A malformed line is returned with its reason, never dropped silently. Control
characters in a field are replaced by spaces (span_alignment.without_control_characters),
and a title, attribute or value without any letter or digit is malformed: a value is
words of its title.
"""
import dataclasses
from typing import Iterator, List, Optional, Tuple, Union

import tensorflow as tf

from catalog.span_alignment import (NULL_VALUE, find_value_span, has_letters_or_digits,
                                       without_control_characters)

SEPARATOR = '\u0001'


@dataclasses.dataclass(frozen=True)
class Triple:
  title: str
  attribute: str
  value: str                      # NULL_VALUE when the title has no value
  span: Optional[Tuple[int, int]]  # byte span of value in title, None if NULL / not found

  @property
  def is_null(self) -> bool:
    return self.value == NULL_VALUE


def parse_line(raw: Union[bytes, str]) -> Union[Triple, str]:
  """A Triple, or the reason the line is malformed."""
  if isinstance(raw, bytes):
    try:
      raw = raw.decode('utf-8')
    except UnicodeDecodeError:
      return 'bad encoding (not UTF-8)'
  line = raw.rstrip('\r\n')
  fields = line.split(SEPARATOR)
  if len(fields) != 3:
    hint = ' (no U+0001 separator)' if len(fields) == 1 else ''
    return f'wrong field count: {len(fields)} instead of 3{hint}'
  title, attribute, value = (without_control_characters(f).strip() for f in fields)
  problem = _field_problem(title, attribute, value)
  if problem:
    return problem
  return Triple(title, attribute, value, find_value_span(title, value))


def _field_problem(title: str, attribute: str, value: str) -> Optional[str]:
  if not title:
    return 'empty title'
  if not attribute:
    return 'empty attribute'
  if not value:
    return 'empty value (use NULL for no value)'
  for name, text in (('title', title), ('attribute', attribute), ('value', value)):
    if not has_letters_or_digits(text):
      return f'{name} has no letters or digits'
  return None


def triples_files(pattern: str) -> List[str]:
  """The files that pattern matches, checked before any pipeline starts: a ValueError
  naming the pattern when it matches nothing or only empty files (Beam would raise an
  OSError of its own, or write empty splits that fail later in Transform)."""
  files = sorted(tf.io.gfile.glob(pattern))
  if not files:
    raise ValueError(f'no triples files match {pattern}')
  if not any(tf.io.gfile.stat(path).length for path in files):
    raise ValueError(f'the triples files matching {pattern} are all empty: {", ".join(files)}')
  return files


# Where a training example came from: a labelled triples file, mined from the catalog's
# known values (catalog/mining.py), or reviewed by a person.
# Reviewed: a person's answer in a review queue (catalog/review_queue.py).
LABELLED, MINED, REVIEWED = 'labelled', 'mined', 'reviewed'


def to_example(triple: Triple, weight: float = 1.0, source: str = LABELLED) -> tf.train.Example:
  """weight: the example's share in the training losses (a labelled triple's is 1)."""
  start, end = triple.span or (-1, -1)
  b = lambda s: tf.train.Feature(bytes_list=tf.train.BytesList(value=[s.encode('utf-8')]))
  i = lambda n: tf.train.Feature(int64_list=tf.train.Int64List(value=[n]))
  return tf.train.Example(features=tf.train.Features(feature={
      'title': b(triple.title), 'attribute': b(triple.attribute), 'value': b(triple.value),
      'value_start': i(start), 'value_end': i(end),
      'weight': tf.train.Feature(float_list=tf.train.FloatList(value=[weight])),
      'source': b(source)}))


def read_triples(path: str) -> Iterator[Tuple[int, Union[Triple, str], str]]:
  """(line number, Triple or reason, raw line) for each non-empty line of a local or gs:// file."""
  with tf.io.gfile.GFile(path, 'rb') as f:
    for number, raw in enumerate(f, start=1):
      if raw.strip():
        text = raw.decode('utf-8', errors='replace').rstrip('\r\n')
        yield number, parse_line(raw), text


def read_split(examples_uri: str, split: str) -> List[Tuple[str, str, str]]:
  """(title, attribute, value) of each example of one split of a TriplesExampleGen output."""
  import os
  files = tf.io.gfile.glob(os.path.join(examples_uri, f'Split-{split}', '*'))
  spec = {k: tf.io.FixedLenFeature([], tf.string) for k in ('title', 'attribute', 'value')}
  rows = []
  for batch in tf.data.TFRecordDataset(files, compression_type='GZIP').batch(2048):
    parsed = tf.io.parse_example(batch, spec)
    rows += zip(*[[v.decode('utf-8') for v in parsed[k].numpy()] for k in ('title', 'attribute', 'value')])
  return rows


def write_triples(rows, path: str):
  """(title, attribute, value) rows as a triples file, for tools outside the pipeline."""
  with tf.io.gfile.GFile(path, 'w') as f:
    for row in rows:
      f.write(SEPARATOR.join(row) + '\n')


def count_split_triples(triples_pattern: str, rule, split: str, dedupe: bool = True) -> int:
  """Triples of one split that TriplesExampleGen will write (same parser, rule and
  de-duplication): what an epoch-based budget needs to know before training."""
  lines = []
  for path in triples_files(triples_pattern):
    with tf.io.gfile.GFile(path, 'rb') as f:
      lines.extend(raw.rstrip(b'\r\n') for raw in f if raw.strip())
  count = 0
  for line in (set(lines) if dedupe else lines):
    parsed = parse_line(line)
    if not isinstance(parsed, str) and rule.split_of(line.decode('utf-8'), parsed.title,
                                                     parsed.attribute) == split:
      count += 1
  return count
