"""The review loop (catalog/review_queue.py): the queue a run writes, and the reviewed
rows a later run learns from."""
import json
import os

import apache_beam as beam
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from catalog import review_queue as rq
from catalog import splits
from catalog.categories import CategoryRules
from catalog.ingest import SUMMARY_FILE, Mining, reviewed_keys, write_examples

TEXT = 'Voltis Kettle Red Stainless Steel 1.7L'


def _queue_row(product_id='x', attribute='Color', value='Red', confidence=0.5, filled=True,
               in_vocabulary=True, threshold=None):
  return rq.queue_row({'product_id': product_id, 'title': TEXT}, attribute, TEXT, value, value.upper(),
                      confidence, 'm1', filled, in_vocabulary, threshold)


def test_a_queue_row_keeps_both_spellings_and_what_decided_the_fill():
  assert _queue_row('P1', confidence=0.4, filled=False, in_vocabulary=False, threshold=0.6) == {
      'product_id': 'P1', 'attribute': 'Color', 'text': TEXT, 'predicted_value': 'Red', 'span': 'RED',
      'confidence': 0.4, 'threshold': 0.6, 'filled': False, 'claimed_by': None, 'in_vocabulary': False,
      'model_version': 'm1', 'reviewed_value': None}


def test_outside_the_vocabulary_first_then_nearest_the_threshold_on_either_side():
  rows = [_queue_row('a', confidence=0.95, threshold=0.7),
          _queue_row('b', confidence=0.65, filled=False, threshold=0.7),   # 0.05 below
          _queue_row('c', confidence=0.72, threshold=0.7),                 # 0.02 above
          _queue_row('d', confidence=0.99, in_vocabulary=False, threshold=0.7),
          _queue_row('e', confidence=0.10, filled=False, threshold=0.7)]
  assert [r['product_id'] for r in rq.queue_order(rows)] == ['d', 'c', 'b', 'a', 'e']


def test_without_a_target_the_least_sure_first_and_an_unreachable_target_the_surest_first():
  no_target = [_queue_row('a', confidence=0.9), _queue_row('b', confidence=0.3)]
  assert [r['product_id'] for r in rq.queue_order(no_target)] == ['b', 'a']
  unreachable = [_queue_row('a', confidence=0.3, filled=False), _queue_row('b', confidence=0.9, filled=False)]
  assert [r['product_id'] for r in rq.queue_order(unreachable)] == ['b', 'a']


def _queue_rows():
  rows = [_queue_row(f'00{i}', confidence=c) for i, c in enumerate([0.9, 0.2, 0.55])]
  rows += [dict(rows[0], attribute='Material', predicted_value='Steel', span='steel', confidence=0.3)]
  return rows


def test_the_queue_is_written_as_parquet_and_csv_in_queue_order(tmp_path):
  paths = rq.write_queue(_queue_rows(), str(tmp_path))
  assert paths == rq.queue_paths(str(tmp_path))
  table = pq.read_table(paths['parquet'])
  assert table.column_names == list(rq.COLUMNS)
  assert [(r['attribute'], r['confidence']) for r in table.to_pylist()] == [
      ('Color', 0.2), ('Color', 0.55), ('Color', 0.9), ('Material', 0.3)]
  assert all(r['reviewed_value'] is None for r in table.to_pylist())
  csv_rows = pacsv.read_csv(paths['csv']).to_pylist()
  assert [r['confidence'] for r in csv_rows] == [0.2, 0.55, 0.9, 0.3]


def test_a_spreadsheet_round_trip_keeps_ids_as_text_and_reads_the_reviews(tmp_path):
  paths = rq.write_queue(_queue_rows(), str(tmp_path))
  # A reviewer fills two rows in a spreadsheet and saves the CSV; ids like 001 stay text.
  table = pacsv.read_csv(paths['csv'], convert_options=pacsv.ConvertOptions(
      column_types={'product_id': pa.string(), 'reviewed_value': pa.string()}))
  reviewed = table.to_pylist()
  reviewed[0]['reviewed_value'] = 'Red'          # 001 Color: the prediction was right
  reviewed[1]['reviewed_value'] = 'null'         # 002 Color: the text does not state it
  out = tmp_path / 'filled.csv'
  pacsv.write_csv(pa.Table.from_pylist(reviewed), str(out))
  rows = rq.read_reviewed(str(out))
  assert [(r['product_id'], r['attribute'], r['reviewed_value']) for r in rows] == [
      ('000', 'Color', ''), ('000', 'Material', ''), ('001', 'Color', 'Red'), ('002', 'Color', 'null')]
  outcomes = [rq.reviewed_triple(r)[0] for r in rows]
  assert outcomes == [rq.UNREVIEWED, rq.UNREVIEWED, rq.VALUE, rq.NO_VALUE]


def test_what_a_reviewed_row_gives():
  row = {'product_id': 'P1', 'attribute': 'Material', 'text': TEXT}
  outcome, triple = rq.reviewed_triple(dict(row, reviewed_value='stainless steel'))
  assert outcome == rq.VALUE and TEXT.encode()[slice(*triple.span)] == b'Stainless Steel'
  assert rq.reviewed_triple(dict(row, reviewed_value='NULL'))[1].is_null
  outcome, triple = rq.reviewed_triple(dict(row, reviewed_value='Inox'))
  assert outcome == rq.NOT_IN_TEXT and triple.span is None and triple.value == 'Inox'
  assert rq.reviewed_triple(dict(row, reviewed_value='  ')) == (rq.UNREVIEWED, None)
  assert rq.reviewed_triple(dict(row, reviewed_value='Steel', product_id='')) == (rq.INCOMPLETE, None)
  assert rq.reviewed_triple(dict(row, reviewed_value='Steel', text=None)) == (rq.INCOMPLETE, None)


def test_bad_review_files_are_clear_errors(tmp_path):
  with pytest.raises(ValueError, match='no file matches'):
    rq.read_reviewed(str(tmp_path / 'none-*.csv'))
  (tmp_path / 'notes.txt').write_text('x')
  with pytest.raises(ValueError, match='not a .parquet or .csv review queue'):
    rq.read_reviewed(str(tmp_path / 'notes.txt'))
  pacsv.write_csv(pa.table({'product_id': ['P1'], 'reviewed_value': ['Red']}), str(tmp_path / 'q.csv'))
  with pytest.raises(ValueError, match='lacks the column.s. attribute, text'):
    rq.read_reviewed(str(tmp_path / 'q.csv'))


def test_a_later_review_of_the_same_row_wins_and_an_empty_one_does_not(tmp_path):
  base = {'product_id': 'P1', 'attribute': 'Color', 'text': TEXT}
  for name, value in (('a.parquet', 'Red'), ('b.parquet', 'NULL'), ('c.parquet', '')):
    pq.write_table(pa.Table.from_pylist([dict(base, reviewed_value=value)]), str(tmp_path / name))
  [row] = rq.read_reviewed(str(tmp_path / '*.parquet'))
  assert row['reviewed_value'] == 'NULL' and row['file'].endswith('b.parquet')


# ---------------------------------------------------------------- in TriplesExampleGen

def test_reviewed_rows_are_labelled_triples_that_replace_mined_ones(tmp_path):
  catalog = [{'product_id': f'P{i}', 'title': f'Voltis Kettle Red Steel K{i}', 'Color': 'Red'}
             for i in range(20)]
  rows_dir = tmp_path / 'rows'
  rows_dir.mkdir()
  pq.write_table(pa.Table.from_pylist(catalog), str(rows_dir / 'part-0.parquet'))
  reviewed = [  # P0's colour was mined as "Red"; a person says "no value"; P1 says Steel material
      {'product_id': 'P0', 'attribute': 'Color', 'text': 'Voltis Kettle Red Steel K0', 'reviewed_value': 'NULL'},
      {'product_id': 'P1', 'attribute': 'Material', 'text': 'Voltis Kettle Red Steel K1', 'reviewed_value': 'steel'},
      {'product_id': 'P2', 'attribute': 'Material', 'text': 'Voltis Kettle Red Steel K2', 'reviewed_value': ''},
      {'product_id': 'P3', 'attribute': 'Material', 'text': 'Voltis Kettle Red Steel K3', 'reviewed_value': 'Inox'}]
  rule = splits.SplitRule('random', 0, 30, ())
  mining = Mining(str(rows_dir / '*.parquet'), CategoryRules(('Color', 'Material')), False, 'null', 0, 1.0,
                  reviewed_keys(reviewed))
  out = str(tmp_path / 'out')
  with beam.Pipeline() as pipeline:
    write_examples(pipeline, '', rule, out, mining=mining, reviewed_rows=reviewed)
  with open(os.path.join(out, SUMMARY_FILE)) as f:
    summary = json.load(f)
  assert summary['reviewed'] == {
      'Color': {'value': 0, 'no_value': 1, 'value_not_in_text': 0, 'unreviewed': 0, 'incomplete': 0},
      'Material': {'value': 1, 'no_value': 0, 'value_not_in_text': 1, 'unreviewed': 1, 'incomplete': 0}}
  assert summary['mined']['Color']['replaced_by_review'] == 1
  assert summary['mined']['Color']['kept'] == 19
  sources = {k: summary['train_sources'][k] + summary['eval_sources'][k] for k in summary['train_sources']}
  assert sources == {'labelled': 0, 'mined': 19, 'reviewed': 3}
  from tests.test_catalog_mining import _examples
  examples = _examples(out, 'train') + _examples(out, 'eval')
  assert ('Voltis Kettle Red Steel K0', 'Color', 'NULL') in examples
  assert ('Voltis Kettle Red Steel K0', 'Color', 'Red') not in examples
  assert ('Voltis Kettle Red Steel K1', 'Material', 'steel') in examples
  # A reviewed row lands on its product's side of the split, with the product's mined triples.
  train_titles = {t for t, _, _ in _examples(out, 'train')}
  for product in ('P0', 'P1'):
    side = rule.split_of_product(product, 'Color')
    assert (f'Voltis Kettle Red Steel K{product[1:]}' in train_titles) == (side == splits.TRAIN)
  assert rq.count_reviewed(reviewed, rule, splits.TRAIN) + rq.count_reviewed(reviewed, rule, splits.EVAL) == 3


HOSTILE = ['=HYPERLINK("http://evil.example","click")', '+1+2', '-2+3', '@SUM(A1:A2)', '\tTab first',
           '\rReturn first', "'=already quoted", '<script>alert(1)</script> Red Kettle', 'Bell\x07 Red Kettle']


def test_untrusted_text_stays_text_in_the_csv_and_reads_back_the_same(tmp_path):
  rows = [dict(_queue_row(f'H{i}'), text=title, predicted_value=title[:6], span=title[:8])
          for i, title in enumerate(HOSTILE)]
  paths = rq.write_queue(rows, str(tmp_path))
  cells = [c for r in pacsv.read_csv(paths['csv'], convert_options=pacsv.ConvertOptions(
      strings_can_be_null=False)).to_pylist() for c in (r['text'], r['predicted_value'], r['span'])]
  # What a spreadsheet would run as a formula starts with an apostrophe in the file.
  assert all(not c.startswith(rq.FORMULA_STARTS) for c in cells), cells
  assert "''=already quoted" in cells and '<script>alert(1)</script> Red Kettle' in cells
  # --reviewed reads the queue back to the same values (a reviewer filled every row).
  filled = pacsv.read_csv(paths['csv'], convert_options=pacsv.ConvertOptions(
      column_types={c: pa.string() for c in rq.COLUMNS if rq.SCHEMA.field(c).type == pa.string()},
      strings_can_be_null=False))
  filled = filled.set_column(filled.column_names.index('reviewed_value'), 'reviewed_value',
                             pa.array(['NULL'] * filled.num_rows))
  pacsv.write_csv(filled, str(tmp_path / 'reviewed.csv'))
  back = {r['product_id']: r['text'] for r in rq.read_reviewed(str(tmp_path / 'reviewed.csv'))}
  assert back == {f'H{i}': title for i, title in enumerate(HOSTILE)}
