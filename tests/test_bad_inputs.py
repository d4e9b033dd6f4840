"""Bad input, tried for real: malformed triples and catalogs, each
driven through the functions the components call (triples_example_gen.write_examples,
catalog_questions.build_questions and read_schema), each with the outcome it must
produce: an error naming the file or pattern, or a quarantined line or row with its
reason, and the counts adding up (lines read = blank + duplicate + malformed + examples;
rows in = accepted + quarantined). Nothing is dropped silently.

The corpus is generated here rather than checked in: what makes a line bad is mostly
bytes that a text file hides or an editor rewrites (U+0001, NUL, ESC, invalid UTF-8,
a byte-order mark, a 5,000-character line), so each case is a byte literal beside
its expected outcome, and the Parquet cases are pyarrow tables. To try the corpus by
hand with `pipeline_runner.py --local` (`--triples '/tmp/bad_inputs/triples/*'`, and one
catalog file at a time: their schemas differ on purpose), write it out:

    .venv/bin/python -m tests.test_bad_inputs /tmp/bad_inputs

A long title or description is checked here to come through ingest whole; that the
model then reads all of it, in overlapping windows, is tested in tests/test_windows.py,
test_preprocessing.py, test_aveqa_model.py and test_pipeline_e2e.py.
"""
import glob
import json
import math
import os
import re
import sys

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import tensorflow as tf

from catalog import questions as cq
from catalog import writer as cw
from catalog import splits, triples
from catalog.ingest import SUMMARY_FILE, write_examples

# ---------------------------------------------------------------------------------------
# Triples: each bad line goes in a file with one good line, so the run has an example.

GOOD_LINE = b'Trailwise Running Shoes Black\x01Color\x01Black'
LONG_TITLE = ('Trailwise Running Shoes ' * 210)[:4995] + ' Teal'   # 5,000 characters, value last

MALFORMED_LINES = {   # case: (bad line, quarantine reason)
    'wrong_separator': (b'Trailwise Running Shoes Red\tColor\tRed',
                        'wrong field count: 1 instead of 3 (no U+0001 separator)'),
    'two_fields': (b'Trailwise Running Shoes Red\x01Color', 'wrong field count: 2 instead of 3'),
    'four_fields': (b'Trailwise Running Shoes Red\x01Color\x01Red\x01Red', 'wrong field count: 4 instead of 3'),
    'empty_title': (b'\x01Color\x01Red', 'empty title'),
    'whitespace_title': (b' \t  \x01Color\x01Red', 'empty title'),
    'control_characters_only_title': (b'\x00\x07\x1b\x7f\x01Color\x01Red', 'empty title'),
    'invalid_utf8': (b'Trailwise \xff\xfe Shoes Red\x01Color\x01Red', 'bad encoding (not UTF-8)'),
    'no_letters_title': ('🔥🔥🔥\x01Brand Name\x01🔥🔥🔥'.encode(), 'title has no letters or digits'),
    'no_letters_value': ('Trailwise Shoes 🔥\x01Color\x01🔥'.encode(), 'value has no letters or digits'),
}

# case: (bad line, the example it must become: title, value, span status)
EXAMPLE_LINES = {
    # Control characters are replaced by spaces, the value still aligns.
    'control_characters': (b'Trailwise\x00Running\x1bShoes\xc2\x85Red\x01Color\x01Red',
                           ('Trailwise Running Shoes Red', 'Red', 'aligned')),
    'byte_order_mark': (b'\xef\xbb\xbfTrailwise Running Shoes Red\x01Color\x01Red',
                        ('Trailwise Running Shoes Red', 'Red', 'aligned')),
    # Kept as an example with no span: the Transform's span_status says why.
    'value_not_in_title': (b'Trailwise Running Shoes Red\x01Material\x01Leather',
                           ('Trailwise Running Shoes Red', 'Leather', 'value_not_in_title')),
    'long_title': (f'{LONG_TITLE}\x01Color\x01Teal'.encode(), (LONG_TITLE, 'Teal', 'aligned')),
}
ALL_TO_TRAIN = splits.SplitRule('zero_shot', 0, 20, ())   # no held-out attribute: one split


def write_triples_file(path, lines, ending=b'\n'):
  os.makedirs(os.path.dirname(path), exist_ok=True)
  with open(path, 'wb') as f:
    f.write(b''.join(line + ending for line in lines))
  return path


def _ingest(pattern, out):
  with beam.Pipeline() as pipeline:
    write_examples(pipeline, pattern, ALL_TO_TRAIN, out)
  with open(os.path.join(out, SUMMARY_FILE)) as f:
    return json.load(f)


def _quarantined_lines(out):
  return [json.loads(line) for path in glob.glob(os.path.join(out, 'quarantine', '*.jsonl'))
          for line in open(path, encoding='utf-8')]


def _examples(out):
  records = tf.data.TFRecordDataset(glob.glob(os.path.join(out, 'Split-*', '*.gz')), compression_type='GZIP')
  examples = []
  for record in records:
    feature = tf.train.Example.FromString(record.numpy()).features.feature
    text = {k: feature[k].bytes_list.value[0].decode('utf-8') for k in ('title', 'attribute', 'value')}
    examples.append(dict(text, span=(feature['value_start'].int64_list.value[0],
                                     feature['value_end'].int64_list.value[0])))
  return examples


def _assert_lines_add_up(summary):
  assert summary['lines_read'] == (summary['blank_lines'] + summary['duplicate_lines'] + summary['malformed']
                                   + summary['train_examples'] + summary['eval_examples'])


@pytest.mark.parametrize('case', sorted(MALFORMED_LINES))
def test_a_malformed_triple_line_is_quarantined_with_its_file_and_reason(tmp_path, case):
  line, reason = MALFORMED_LINES[case]
  path = write_triples_file(str(tmp_path / f'{case}.txt'), [GOOD_LINE, line])
  out = str(tmp_path / 'out')
  summary = _ingest(path, out)
  assert _quarantined_lines(out) == [{'file': path, 'line': line.decode('utf-8', 'replace'), 'reason': reason}]
  assert summary['malformed_reasons'] == {reason: 1}
  assert summary['lines_read'] == 2 and summary['train_examples'] == 1
  _assert_lines_add_up(summary)


@pytest.mark.parametrize('case', sorted(EXAMPLE_LINES))
def test_an_odd_but_usable_triple_line_becomes_an_example(tmp_path, case):
  line, (title, value, status) = EXAMPLE_LINES[case]
  path = write_triples_file(str(tmp_path / f'{case}.txt'), [GOOD_LINE, line])
  out = str(tmp_path / 'out')
  summary = _ingest(path, out)
  expected_counts = ({'train.aligned': 2} if status == 'aligned'
                     else {'train.aligned': 1, f'train.{status}': 1})
  assert summary['counts'] == expected_counts
  assert not _quarantined_lines(out)
  example = next(e for e in _examples(out) if e['title'] != 'Trailwise Running Shoes Black')
  assert (example['title'], example['value']) == (title, value)
  if status == 'aligned':   # the span is the value's bytes in the stored title
    start, end = example['span']
    assert title.encode('utf-8')[start:end].decode('utf-8') == value
  else:
    assert example['span'] == (-1, -1)
  _assert_lines_add_up(summary)


def test_windows_line_endings_are_not_part_of_the_value(tmp_path):
  path = write_triples_file(str(tmp_path / 'crlf.txt'), [GOOD_LINE, b'Kitchara Knife Set Steel\x01Material\x01Steel'],
                            ending=b'\r\n')
  summary = _ingest(path, str(tmp_path / 'out'))
  assert summary['counts'] == {'train.aligned': 2}
  assert {e['value'] for e in _examples(str(tmp_path / 'out'))} == {'Black', 'Steel'}


def test_an_empty_triples_file_is_an_error_naming_the_pattern_before_beam_runs(tmp_path):
  path = write_triples_file(str(tmp_path / 'empty.txt'), [])
  with pytest.raises(ValueError, match=f'the triples files matching {re.escape(path)} are all empty'):
    write_examples(beam.Pipeline(), path, ALL_TO_TRAIN, str(tmp_path / 'out'))   # built, never run
  with pytest.raises(ValueError, match='are all empty'):
    triples.count_split_triples(path, ALL_TO_TRAIN, splits.TRAIN)


def test_a_triples_pattern_matching_nothing_is_an_error_naming_it_before_beam_runs(tmp_path):
  pattern = str(tmp_path / 'nothing-*.txt')
  with pytest.raises(ValueError, match=f'no triples files match {re.escape(pattern)}$'):
    write_examples(beam.Pipeline(), pattern, ALL_TO_TRAIN, str(tmp_path / 'out'))
  with pytest.raises(ValueError, match='no triples files match'):   # the epoch budget's count
    triples.count_split_triples(pattern, ALL_TO_TRAIN, splits.TRAIN)


def test_a_file_of_blank_lines_is_an_error_naming_the_pattern(tmp_path):
  path = str(tmp_path / 'blank.txt')
  with open(path, 'wb') as f:
    f.write(b'\n  \n\t\n')
  with pytest.raises(ValueError, match=re.escape(f'no usable triples in {path}: 3 line(s) read, 3 blank, '
                                                 '0 malformed') + '( |$)'):
    _ingest(path, str(tmp_path / 'out'))


def test_a_file_of_malformed_lines_only_is_an_error_naming_the_pattern_and_reasons(tmp_path):
  """A tab-separated file: every line quarantined, and the run stops before Transform."""
  path = write_triples_file(str(tmp_path / 'tsv.txt'), [b'Trailwise Shoes Red\tColor\tRed',
                                                        b'Kitchara Knife Set\tBrand Name\tKitchara'])
  out = str(tmp_path / 'out')
  with pytest.raises(ValueError, match=re.escape(
      f'no usable triples in {path}: 2 line(s) read, 0 blank, 2 malformed '
      f'(wrong field count: 1 instead of 3 (no U+0001 separator): 2); '
      f'the malformed lines are in {os.path.join(out, "quarantine")}')):
    _ingest(path, out)
  assert len(_quarantined_lines(out)) == 2


class _LeakyRule(splits.SplitRule):
  """A rule that sends a line to a split nobody writes."""

  def split_of(self, line, title, attribute):
    return 'nowhere' if 'Red' in title else super().split_of(line, title, attribute)


def test_a_line_neither_written_nor_quarantined_fails_the_run(tmp_path):
  path = write_triples_file(str(tmp_path / 'triples.txt'), [GOOD_LINE, b'Voltis Red Kettle\x01Color\x01Red'])
  with pytest.raises(RuntimeError, match=re.escape('triples lost between reading and writing: 2 distinct lines, '
                                                   '0 malformed, 1 examples')):
    with beam.Pipeline() as pipeline:
      write_examples(pipeline, path, _LeakyRule('zero_shot', 0, 20, ()), str(tmp_path / 'out'))


def test_the_whole_triples_corpus_read_together_adds_up_and_names_each_file(tmp_path):
  """One file per case plus duplicates and blank lines, as a multi-file pattern."""
  directory = tmp_path / 'triples'
  for case, (line, _) in {**MALFORMED_LINES, **EXAMPLE_LINES}.items():
    write_triples_file(str(directory / f'{case}.txt'), [line, GOOD_LINE, b'  '])
  summary = _ingest(str(directory / '*.txt'), str(tmp_path / 'out'))
  cases = len(MALFORMED_LINES) + len(EXAMPLE_LINES)
  assert summary['lines_read'] == 3 * cases
  assert summary['blank_lines'] == cases and summary['duplicate_lines'] == cases - 1   # GOOD_LINE
  assert summary['malformed'] == len(MALFORMED_LINES)
  assert summary['train_examples'] == len(EXAMPLE_LINES) + 1
  _assert_lines_add_up(summary)
  reasons = {os.path.basename(r['file'])[:-len('.txt')]: r['reason'] for r in _quarantined_lines(str(tmp_path / 'out'))}
  assert reasons == {case: reason for case, (_, reason) in MALFORMED_LINES.items()}


# ---------------------------------------------------------------------------------------
# Catalogs

ATTRIBUTES = ['Brand Name', 'Color']
GOOD_ROW = {'product_id': 'G1', 'title': 'Lumora Black Mesh Running Shoes'}
STRINGS = pa.schema([('product_id', pa.string()), ('title', pa.string())])

QUARANTINE_CASES = {   # case: (rows, schema, quarantine reasons, accepted ids)
    'int_title': ([{'product_id': 'A1', 'title': 7}, {'product_id': 'A2', 'title': 8}],
                  pa.schema([('product_id', pa.string()), ('title', pa.int64())]),
                  ['non-text title (int)'] * 2, []),
    'list_title': ([{'product_id': 'A1', 'title': ['Voltis', 'Kettle']}, {'product_id': 'A2', 'title': None}],
                   pa.schema([('product_id', pa.string()), ('title', pa.list_(pa.string()))]),
                   ['missing title', 'non-text title (list)'], []),
    'list_product_id': ([{'product_id': ['A1'], 'title': 'Voltis Red Kettle'},
                         {'product_id': [], 'title': 'Voltis Red Kettle'}],
                        pa.schema([('product_id', pa.list_(pa.string())), ('title', pa.string())]),
                        ['non-scalar product_id (list)'] * 2, []),
    'nan_product_id': ([{'product_id': math.nan, 'title': 'Voltis Red Kettle'},
                        {'product_id': 12.0, 'title': 'Voltis Red Kettle'}],   # what pandas writes
                       pa.schema([('product_id', pa.float64()), ('title', pa.string())]),
                       ['missing product_id'], ['12.0']),
    'duplicate_ids': ([GOOD_ROW, {'product_id': 'D1', 'title': 'Aquaro Tent'},
                       {'product_id': 'D1', 'title': 'Aquaro Tent Green'}],
                      STRINGS, ['duplicate product_id (2 rows)'] * 2, ['G1']),
    'null_and_blank_values': ([GOOD_ROW, {'product_id': None, 'title': 'Voltis Red Kettle'},
                               {'product_id': ' \t', 'title': 'Voltis Red Kettle'},
                               {'product_id': 'B1', 'title': None}, {'product_id': 'B2', 'title': ''},
                               {'product_id': 'B3', 'title': ' \n '}],
                              STRINGS, ['empty title', 'empty title', 'missing product_id',
                                        'missing product_id', 'missing title'], ['G1']),
    # A value is words of the title: text without any gets nothing, not its symbols.
    'no_letters_or_digits_title': ([GOOD_ROW, {'product_id': 'E1', 'title': '🔥🔥🔥'},
                                    {'product_id': 'E2', 'title': '!!! ---'}, {'product_id': 'E3', 'title': '___'},
                                    {'product_id': 'E4', 'title': '🔥 4K 🔥'}],
                                   STRINGS, ['title has no letters or digits'] * 3, ['E4', 'G1']),
    'control_characters_only_title': ([GOOD_ROW, {'product_id': 'C1', 'title': '\x00\x1b\x7f'}],
                                      STRINGS, ['empty title'], ['G1']),
}


def write_catalog_file(path, rows_or_bytes, schema=STRINGS):
  os.makedirs(os.path.dirname(path), exist_ok=True)
  if isinstance(rows_or_bytes, bytes):
    with open(path, 'wb') as f:
      f.write(rows_or_bytes)
  else:
    pq.write_table(pa.Table.from_pylist(rows_or_bytes, schema=schema), path)
  return path


def _catalog(tmp_path, pattern, **settings):
  rows_uri, questions_uri = str(tmp_path / 'rows'), str(tmp_path / 'questions')
  with beam.Pipeline() as pipeline:
    cq.build_questions(pipeline, pattern, rows_uri, questions_uri, cq.Settings(tuple(ATTRIBUTES), **settings))
  with open(os.path.join(rows_uri, cq.SUMMARY_FILE)) as f:
    summary = json.load(f)
  read = lambda folder: [r for path in sorted(glob.glob(os.path.join(rows_uri, folder, '*.parquet')))
                         for r in pq.read_table(path).to_pylist()]
  questions = [tf.train.Example.FromString(r.numpy()).features.feature for r in tf.data.TFRecordDataset(
      glob.glob(os.path.join(questions_uri, '*', '*')), compression_type='GZIP')]
  # One entry per product asking: rows with the same text share a question.
  questions = [dict({k: q[k].bytes_list.value[0].decode('utf-8') for k in ('title', 'attribute')},
                    product_id=product_id.decode('utf-8'))
               for q in questions for product_id in q['product_id'].bytes_list.value]
  assert summary['rows_in'] == summary['accepted'] + summary['quarantined']
  return rows_uri, summary, read('accepted'), read('quarantined'), questions


@pytest.mark.parametrize('case', sorted(QUARANTINE_CASES))
def test_a_bad_catalog_row_is_quarantined_with_its_reason_and_rows_add_up(tmp_path, case):
  rows, schema, reasons, accepted_ids = QUARANTINE_CASES[case]
  path = write_catalog_file(str(tmp_path / 'catalog' / f'{case}.parquet'), rows, schema)
  _, summary, accepted, quarantined, questions = _catalog(tmp_path, path)
  assert summary['rows_in'] == len(rows) == len(accepted) + len(quarantined)
  assert sorted(r[cq.QUARANTINE_REASON] for r in quarantined) == sorted(reasons)
  assert summary['quarantine_reasons'] == {r: reasons.count(r) for r in set(reasons)}
  assert sorted(str(r['product_id']) for r in accepted) == accepted_ids
  assert sorted({q['product_id'] for q in questions}) == accepted_ids


def test_control_characters_in_a_title_become_spaces_in_the_question_only(tmp_path):
  title = 'Voltis\x00Red\x1bKettle\x85 Steel\t'
  path = write_catalog_file(str(tmp_path / 'catalog' / 'part-0.parquet'), [{'product_id': 'C1', 'title': title}])
  _, summary, accepted, _, questions = _catalog(tmp_path, path)
  assert summary['accepted'] == 1 and accepted[0]['title'] == title   # the row is kept as it came
  assert {q['title'] for q in questions} == {'Voltis Red Kettle  Steel'}


def test_a_list_attribute_column_is_known_only_when_it_holds_a_value(tmp_path):
  schema = STRINGS.append(pa.field('Color', pa.list_(pa.string())))
  rows = [dict(GOOD_ROW, Color=['Black']), {'product_id': 'L1', 'title': 'Voltis Kettle', 'Color': []},
          {'product_id': 'L2', 'title': 'Voltis Kettle', 'Color': None},
          {'product_id': 'L3', 'title': 'Voltis Kettle', 'Color': ['', None]}]
  path = write_catalog_file(str(tmp_path / 'catalog' / 'part-0.parquet'), rows, schema)
  _, summary, accepted, _, questions = _catalog(tmp_path, path)
  assert summary['accepted'] == 4 and summary['questions'] == {'Brand Name': 4, 'Color': 3}
  assert sorted(q['product_id'] for q in questions if q['attribute'] == 'Color') == ['L1', 'L2', 'L3']
  assert {r['product_id']: r['Color'] for r in accepted}['G1'] == ['Black']   # written back as a list


def test_a_very_long_description_is_accepted_and_asked_whole(tmp_path):
  description = 'Stainless steel body, red enamel finish. ' * 1250   # 51,250 characters
  schema = STRINGS.append(pa.field('description', pa.string()))
  path = write_catalog_file(str(tmp_path / 'catalog' / 'part-0.parquet'),
                            [dict(GOOD_ROW, description=description)], schema)
  _, summary, _, _, questions = _catalog(tmp_path, path)
  assert summary['accepted'] == 1 and len(questions) == 2
  assert {q['title'] for q in questions} == {f'{GOOD_ROW["title"]} {description.strip()}'}


def test_the_description_is_read_by_default_and_the_title_alone_when_turned_off(tmp_path):
  schema = STRINGS.append(pa.field('description', pa.string()))
  rows = [dict(GOOD_ROW, description='Red enamel.'), {'product_id': 'D2', 'title': 'Voltis Kettle',
                                                       'description': None}]
  path = write_catalog_file(str(tmp_path / 'catalog' / 'part-0.parquet'), rows, schema)
  by_default = {q['product_id']: q['title'] for q in _catalog(tmp_path / 'on', path)[4]}
  assert by_default == {GOOD_ROW['product_id']: f"{GOOD_ROW['title']} Red enamel.", 'D2': 'Voltis Kettle'}
  title_only = {q['product_id']: q['title'] for q in _catalog(tmp_path / 'off', path, use_description=False)[4]}
  assert title_only == {GOOD_ROW['product_id']: GOOD_ROW['title'], 'D2': 'Voltis Kettle'}


def test_a_zero_row_catalog_is_valid_and_fills_nothing(tmp_path):
  path = write_catalog_file(str(tmp_path / 'catalog' / 'part-0.parquet'), [])
  rows_uri, summary, accepted, quarantined, questions = _catalog(tmp_path, path)
  assert (summary['rows_in'], summary['accepted'], summary['quarantined']) == (0, 0, 0)
  assert not accepted and not quarantined and not questions
  # The writer after it: no predictions, no rows out, and the invariant holds.
  predictions = str(tmp_path / 'predictions' / 'logs.tfrecord')
  os.makedirs(os.path.dirname(predictions))
  tf.io.TFRecordWriter(predictions).close()
  output_uri = str(tmp_path / 'enriched')
  with beam.Pipeline() as pipeline:
    counts = cw.write_enriched(pipeline, rows_uri, predictions, output_uri, ATTRIBUTES, 'model-1', True)
    _ = counts | beam.Map(cw.finish_summary, rows_uri, output_uri, ATTRIBUTES, 'model-1', True)
  final = cw.read_summary(output_uri)
  assert (final['rows_in'], final['rows_out'], final['quarantined']) == (0, 0, 0)
  assert final['values_filled'] == {'Brand Name': 0, 'Color': 0}


def test_a_zero_row_file_beside_others_adds_nothing(tmp_path):
  write_catalog_file(str(tmp_path / 'catalog' / 'part-0.parquet'), [])
  write_catalog_file(str(tmp_path / 'catalog' / 'part-1.parquet'), [GOOD_ROW])
  _, summary, accepted, _, _ = _catalog(tmp_path, str(tmp_path / 'catalog' / '*.parquet'))
  assert summary['rows_in'] == summary['accepted'] == 1 and accepted[0]['product_id'] == 'G1'


def test_files_with_the_same_columns_in_another_order_are_read_by_name(tmp_path):
  write_catalog_file(str(tmp_path / 'catalog' / 'part-0.parquet'), [GOOD_ROW])
  write_catalog_file(str(tmp_path / 'catalog' / 'part-1.parquet'), [{'title': 'Voltis Red Kettle', 'product_id': 'V1'}],
                     pa.schema([('title', pa.string()), ('product_id', pa.string())]))
  _, summary, accepted, _, _ = _catalog(tmp_path, str(tmp_path / 'catalog' / '*.parquet'))
  assert summary['accepted'] == 2
  assert {r['product_id']: r['title'] for r in accepted} == {'G1': GOOD_ROW['title'], 'V1': 'Voltis Red Kettle'}


@pytest.mark.parametrize('missing', ['product_id', 'title'])
def test_a_catalog_without_a_required_column_is_an_error_naming_the_file(tmp_path, missing):
  schema = pa.schema([f for f in STRINGS if f.name != missing] + [pa.field('Color', pa.string())])
  path = write_catalog_file(str(tmp_path / 'catalog' / 'part-0.parquet'), [], schema)
  with pytest.raises(ValueError, match=re.escape(f'catalog {path} lacks the column(s) {missing}')):
    cq.build_questions(beam.Pipeline(), path, ATTRIBUTES, str(tmp_path / 'rows'), str(tmp_path / 'q'))


def test_a_later_file_without_a_required_column_is_an_error_naming_it(tmp_path):
  write_catalog_file(str(tmp_path / 'catalog' / 'part-0.parquet'), [GOOD_ROW])
  late = write_catalog_file(str(tmp_path / 'catalog' / 'part-1.parquet'), [{'product_id': 'X'}],
                            pa.schema([('product_id', pa.string())]))
  with pytest.raises(ValueError, match=re.escape(f'catalog {late} lacks the column(s) title')):
    cq.read_schema(str(tmp_path / 'catalog' / '*.parquet'))


@pytest.mark.parametrize('other_schema, difference', [
    (pa.schema([('product_id', pa.string()), ('title', pa.int64())]), 'title: int64 instead of string'),
    (STRINGS.append(pa.field('Color', pa.string())), 'Color: string instead of absent'),
])
def test_catalog_files_that_disagree_on_their_schema_are_an_error_naming_both(tmp_path, other_schema, difference):
  first = write_catalog_file(str(tmp_path / 'catalog' / 'part-0.parquet'), [GOOD_ROW])
  second = write_catalog_file(str(tmp_path / 'catalog' / 'part-1.parquet'), [], other_schema)
  with pytest.raises(ValueError, match=re.escape(
      f'catalog files disagree on their schema: {second} vs {first}: {difference}') + '$'):
    cq.build_questions(beam.Pipeline(), str(tmp_path / 'catalog' / '*.parquet'), ATTRIBUTES,
                       str(tmp_path / 'rows'), str(tmp_path / 'q'))


def test_a_non_parquet_file_in_the_catalog_is_an_error_naming_it(tmp_path):
  write_catalog_file(str(tmp_path / 'catalog' / 'part-0.parquet'), [GOOD_ROW])
  csv = write_catalog_file(str(tmp_path / 'catalog' / 'part-1.parquet'), b'product_id,title\nG2,Voltis Kettle\n')
  with pytest.raises(ValueError, match=re.escape(f'catalog file {csv} is not a readable Parquet file: ')
                     + 'Parquet magic bytes not found'):
    cq.build_questions(beam.Pipeline(), str(tmp_path / 'catalog' / '*'), ATTRIBUTES,
                       str(tmp_path / 'rows'), str(tmp_path / 'q'))


def test_a_catalog_pattern_matching_nothing_is_an_error_naming_it(tmp_path):
  pattern = str(tmp_path / 'catalog' / '*.parquet')
  with pytest.raises(FileNotFoundError, match=f'^no catalog files match {re.escape(pattern)}$'):
    cq.build_questions(beam.Pipeline(), pattern, ATTRIBUTES, str(tmp_path / 'rows'), str(tmp_path / 'q'))


# ---------------------------------------------------------------------------------------

def write_corpus(directory):
  """Every case above as files, to try by hand: triples/<case>.txt, catalogs/<case>.parquet."""
  for case, (line, _) in {**MALFORMED_LINES, **EXAMPLE_LINES}.items():
    write_triples_file(os.path.join(directory, 'triples', f'{case}.txt'), [GOOD_LINE, line])
  for case, (rows, schema, _, _) in QUARANTINE_CASES.items():
    write_catalog_file(os.path.join(directory, 'catalogs', f'{case}.parquet'), rows, schema)


if __name__ == '__main__':
  write_corpus(sys.argv[1])
  print(f'wrote the bad-input corpus to {sys.argv[1]}')
