"""Labels mined from a catalog's known values (catalog/mining.py)."""
import pytest

from catalog import mining as cm
from catalog.span_alignment import NULL_VALUE

ATTRIBUTES = ('Brand Name', 'Color', 'Material')


def _mined(row, known_not_in_text='null', use_description=False, **rules):
  return [(a, outcome, t and (t.title, t.value, t.span))
          for a, outcome, t in cm.mined_triples(row, ATTRIBUTES, use_description, known_not_in_text, **rules)]


def test_a_known_value_in_the_title_is_an_aligned_triple_with_its_span():
  row = {'product_id': 'P1', 'title': 'Voltis Electric Kettle NAVY  Blue', 'Color': 'navy blue'}
  [(attribute, outcome, (title, value, span))] = _mined(row)
  assert (attribute, outcome, value) == ('Color', cm.ALIGNED, 'navy blue')
  assert title.encode()[span[0]:span[1]].decode() == 'NAVY  Blue'


def test_a_known_value_the_text_does_not_hold_is_no_value_or_skipped():
  row = {'product_id': 'P1', 'title': 'Voltis Steel Kettle', 'Material': 'Stainless Steel'}
  assert _mined(row, 'null') == [('Material', cm.NOT_IN_TEXT_NULL, ('Voltis Steel Kettle', NULL_VALUE, None))]
  assert _mined(row, 'skip') == [('Material', cm.NOT_IN_TEXT_SKIPPED, None)]


def test_unknown_blank_and_non_text_cells_are_not_labels():
  row = {'product_id': 'P1', 'title': 'Voltis 42 Kettle', 'Brand Name': None, 'Color': '  ',
         'Material': 42}
  assert _mined(row) == [('Material', cm.NOT_A_LABEL, None)]
  for cell in ('-', 'NULL', ['', None], [3]):
    assert cm.cell_values(cell) is None, cell


def test_a_cell_with_several_values_gives_the_first_the_text_holds():
  row = {'product_id': 'P1', 'title': 'Trailwise Shoes Blue Mesh', 'Color': 'Red; Blue',
         'Material': ['Leather', 'Mesh']}
  mined = {a: (outcome, t[1] if t else None) for a, outcome, t in _mined(row)}
  assert mined == {'Color': (cm.ALIGNED, 'Blue'), 'Material': (cm.ALIGNED, 'Mesh')}
  assert cm.cell_values('Red | Blue;Green') == ['Red', 'Blue', 'Green']


def test_the_description_is_searched_only_when_the_model_reads_it():
  row = {'product_id': 'P1', 'title': 'Voltis Kettle', 'description': 'A red enamel finish.',
         'Color': 'Red'}
  assert _mined(row, 'skip') == [('Color', cm.NOT_IN_TEXT_SKIPPED, None)]
  [(_, outcome, (title, value, _))] = _mined(row, 'skip', use_description=True)
  assert outcome == cm.ALIGNED and title == 'Voltis Kettle A red enamel finish.' and value == 'Red'


def test_a_no_value_marker_is_a_no_value_example_in_any_case():
  row = {'product_id': 'P1', 'title': 'Voltis Kettle', 'Color': 'N/A', 'Material': 'n/a'}
  assert _mined(row, 'skip', no_value_tokens=('n/a',)) == [
      ('Color', cm.NO_VALUE_MARKER, ('Voltis Kettle', NULL_VALUE, None)),
      ('Material', cm.NO_VALUE_MARKER, ('Voltis Kettle', NULL_VALUE, None))]
  # Without the token it is text the title does not hold.
  assert _mined(row, 'skip')[0] == ('Color', cm.NOT_IN_TEXT_SKIPPED, None)


def test_a_value_found_in_its_text_also_gives_the_text_without_it_as_no_value():
  row = {'product_id': 'P1', 'title': 'Voltis RED Kettle, red enamel', 'Color': 'Red',
         'Material': 'Voltis RED Kettle, red enamel'}
  mined = _mined(row, value_removed_negatives=True)
  assert mined[:2] == [('Color', cm.ALIGNED, ('Voltis RED Kettle, red enamel', 'Red', (7, 10))),
                       ('Color', cm.VALUE_REMOVED, ('Voltis Kettle, enamel', NULL_VALUE, None))]
  # A value that is the whole text leaves nothing to ask about: no negative.
  assert mined[2:] == [('Material', cm.ALIGNED, ('Voltis RED Kettle, red enamel', 'Voltis RED Kettle, red enamel',
                                                 (0, 29))),
                       ('Material', cm.NOT_REMOVABLE, None)]


def test_an_unknown_rule_is_refused():
  with pytest.raises(ValueError, match='known_not_in_text'):
    list(cm.mined_triples({'title': 'x', 'Color': 'Red'}, ATTRIBUTES, False, 'guess'))


# ---------------------------------------------------------------- in TriplesExampleGen

import glob  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402

import apache_beam as beam  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
import tensorflow as tf  # noqa: E402

from catalog import splits  # noqa: E402
from catalog.categories import CategoryRules  # noqa: E402
from catalog.ingest import SUMMARY_FILE, Mining, write_examples  # noqa: E402

ROWS = [{'product_id': f'P{i:03d}', 'title': f'Voltis Kettle {color} Steel K{i:03d}', 'Color': color,
         'Material': material, 'Brand Name': None}
        for i, (color, material) in enumerate([('Red', 'Steel'), ('Blue', 'Stainless Steel'),
                                               ('Green', None), ('Black', 'steel')] * 10)]


NO_NEGATIVES = {'no_value_marker': 0, 'value_removed': 0, 'value_not_removable': 0}


def _mine(tmp_path, rule, triples_pattern='', known_not_in_text='null', cap=0, weight=1.0, rows=ROWS,
          rules=CategoryRules(ATTRIBUTES), negatives=False):
  folder = tmp_path / 'rows' / 'accepted'
  folder.mkdir(parents=True, exist_ok=True)
  pq.write_table(pa.Table.from_pylist(rows), str(folder / 'part-0.parquet'))
  out = str(tmp_path / f'out-{known_not_in_text}-{cap}-{negatives}')
  mining = Mining(str(folder / '*.parquet'), rules, False, known_not_in_text, cap, weight,
                  value_removed_negatives=negatives)
  with beam.Pipeline() as pipeline:
    write_examples(pipeline, triples_pattern, rule, out, mining=mining)
  with open(os.path.join(out, SUMMARY_FILE)) as f:
    return out, json.load(f)


def _examples(out, split):
  records = tf.data.TFRecordDataset(glob.glob(os.path.join(out, f'Split-{split}', '*.gz')),
                                    compression_type='GZIP')
  feature = lambda e, k: e.features.feature[k].bytes_list.value[0].decode()
  return [(feature(e, 'title'), feature(e, 'attribute'), feature(e, 'value'))
          for e in (tf.train.Example.FromString(r.numpy()) for r in records)]


def test_the_catalog_alone_trains_on_its_known_values_split_by_product(tmp_path):
  out, summary = _mine(tmp_path, splits.SplitRule('random', 0, 30, ()))
  assert summary['mined']['Color'] == {'known': 40, 'aligned': 40, 'not_in_text_as_null': 0,
                                      'not_in_text_skipped': 0, 'not_a_label': 0, **NO_NEGATIVES,
                                      'replaced_by_review': 0, 'kept': 40}
  assert summary['mined']['Material'] == {'known': 30, 'aligned': 20, 'not_in_text_as_null': 10,
                                         'not_in_text_skipped': 0, 'not_a_label': 0, **NO_NEGATIVES,
                                         'replaced_by_review': 0, 'kept': 30}
  assert 'Brand Name' not in summary['mined']   # no row knows it
  train, evaluation = _examples(out, 'train'), _examples(out, 'eval')
  assert len(train) + len(evaluation) == 70 == summary['train_examples'] + summary['eval_examples']
  assert summary['train_sources'] == {'labelled': 0, 'mined': len(train), 'reviewed': 0}
  assert evaluation and train
  # A product's triples are on one side only (each title names one product here).
  assert not {t for t, _, _ in train} & {t for t, _, _ in evaluation}
  assert ('Voltis Kettle Blue Steel K001', 'Material', 'NULL') in train + evaluation


def test_known_values_not_in_the_text_can_be_skipped_and_attributes_capped(tmp_path):
  rule = splits.SplitRule('random', 0, 30, ())
  _, summary = _mine(tmp_path, rule, known_not_in_text='skip', cap=7)
  assert summary['mined']['Material']['not_in_text_skipped'] == 10
  assert summary['mined']['Material']['kept'] == summary['mined']['Color']['kept'] == 7
  assert summary['train_examples'] + summary['eval_examples'] == 14


def test_value_removed_negatives_land_with_their_product_and_are_counted(tmp_path):
  out, summary = _mine(tmp_path, splits.SplitRule('random', 0, 30, ()), known_not_in_text='skip',
                       negatives=True)
  assert summary['mined']['Color']['value_removed'] == summary['mined']['Color']['aligned'] == 40
  assert summary['mined']['Color']['known'] == 40   # a negative is not another known value
  for split in ('train', 'eval'):
    examples = _examples(out, split)
    negatives = [(t, a) for t, a, v in examples if v == NULL_VALUE]
    assert len(negatives) == summary[f'{split}_examples'] // 2 and negatives
    for text, attribute in negatives:   # the value's product is on the same side, with the value
      number = text.split()[-1]
      assert any(t.endswith(number) and a == attribute and v != NULL_VALUE for t, a, v in examples)
      assert 'Red' not in text and 'Blue' not in text and 'Green' not in text and 'Black' not in text \
          if attribute == 'Color' else 'teel' not in text
  assert summary['counts']['train.mined_value_removed'] > 0


def test_only_the_attributes_of_a_rows_category_are_mined(tmp_path):
  rows = [dict(row, category='Kettles' if i % 2 else 'Shoes') for i, row in enumerate(ROWS)]
  rules = CategoryRules(ATTRIBUTES, 'category', {'Kettles': ('Color',), 'Shoes': ('Color', 'Material')})
  _, summary = _mine(tmp_path, splits.SplitRule('random', 0, 30, ()), rows=rows, rules=rules)
  assert summary['mined']['Color']['known'] == 40
  assert summary['mined']['Material']['known'] == 10   # of the 30 rows that know it, the 10 shoes


def test_an_empty_eval_split_is_an_error_naming_the_rule_and_the_counts(tmp_path):
  import pytest
  from catalog.ingest import check_splits
  _, summary = _mine(tmp_path, splits.SplitRule('zero_shot', 0, 20, ('Size',)))
  with pytest.raises(ValueError, match=r'the eval split is empty: split rule zero_shot \(held-out '
                                       r'attributes Size\) put all 70 examples in train \(labelled 0, '
                                       r'mined 70, reviewed 0\)'):
    check_splits(summary)
  _, summary = _mine(tmp_path, splits.SplitRule('random', 0, 30, ()))
  check_splits(summary)   # both splits hold examples: no error


def test_labelled_triples_and_mined_ones_train_together(tmp_path):
  source = tmp_path / 'triples.txt'
  source.write_bytes(b'Trailwise Running Shoes Black\x01Color\x01Black\nKitchara Knife Set\x01Brand Name\x01NULL\n')
  out, summary = _mine(tmp_path, splits.SplitRule('zero_shot', 0, 20, ('Material',)), str(source), weight=0.25)
  assert summary['train_sources'] == {'labelled': 2, 'mined': 40, 'reviewed': 0}   # Material is held out
  assert summary['eval_sources'] == {'labelled': 0, 'mined': 30, 'reviewed': 0}
  from catalog.ingest import summary_lines
  lines = summary_lines(summary)
  assert lines[:2] == ['train examples: 42 (labelled 2, mined 40, reviewed 0)',
                       'eval examples: 30 (labelled 0, mined 30, reviewed 0)']
  # The console gets totals; the per-attribute table stays in the summary file and the report.
  assert lines[2:] == ['mined (2 attributes): known 70, aligned 60, not_in_text_as_null 10, kept 70']
  # A mined triple weighs --mined-weight in the losses, a labelled one 1.
  records = tf.data.TFRecordDataset(glob.glob(os.path.join(out, 'Split-train', '*.gz')), compression_type='GZIP')
  weights, sources = {}, {}
  for record in records:
    feature = tf.train.Example.FromString(record.numpy()).features.feature
    title = feature['title'].bytes_list.value[0].decode()
    weights[title] = feature['weight'].float_list.value[0]
    sources[title] = feature['source'].bytes_list.value[0].decode()
  assert weights.pop('Trailwise Running Shoes Black') == weights.pop('Kitchara Knife Set') == 1.0
  assert set(weights.values()) == {0.25}
  # Each example says where it came from, for the Trainer's log.
  assert sources.pop('Trailwise Running Shoes Black') == sources.pop('Kitchara Knife Set') == 'labelled'
  assert set(sources.values()) == {'mined'}


def test_without_triples_or_a_catalog_there_is_nothing_to_train_on(tmp_path):
  import pytest
  with pytest.raises(ValueError, match='no training data'):
    with beam.Pipeline() as pipeline:
      write_examples(pipeline, '', splits.SplitRule('random', 0, 20, ()), str(tmp_path / 'out'))


def test_a_catalog_that_knows_no_value_is_an_error_that_says_so(tmp_path):
  import pytest
  rows = [{k: v for k, v in row.items() if k not in ATTRIBUTES} for row in ROWS]
  with pytest.raises(ValueError, match='the catalog knows no value of its target attributes, so '
                                       'there is nothing to learn from: give labelled triples'):
    _mine(tmp_path, splits.SplitRule('random', 0, 30, ()), rows=rows)
