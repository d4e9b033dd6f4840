"""The WDC-PAVE catalog converter and scorer on hand-made offers (no data copied)."""
import json

import pyarrow.parquet as pq
import pytest

from benchmarks import wdc_pave_catalog as wdc
from benchmarks import wdc_pave_score as score
from catalog.columns import output_columns

RING = {'id': 1, 'category': 'Jewelry', 'input_title': 'Aurel Sterling Silver Ring', 'input_description': 'A ring.',
        'target_scores': {'Metal Type': {'Sterling Silver': {'pid': [0], 'score': 1},
                                         'silver': {'pid': [1], 'score': 1}},
                          'Brand': {'Aurel': {'pid': [0], 'score': 1}}, 'Gender': {'n/a': 1}}}
CPU = {'id': 2, 'category': 'Computers', 'input_title': 'Xeon E5335 Quad Core', 'input_description': 'Intel Xeon E5335',
       'target_scores': {'Processor Type': {'Intel Xeon E5335': {'pid': [1], 'score': 1},
                                            'Xeon E5335': {'pid': [0], 'score': 1}},
                         'Cache': {'n/a': 1}}}


def _row(offer, **filled):
  row = {'product_id': str(offer['id'])}
  for attribute in ('Metal Type', 'Brand', 'Gender', 'Processor Type', 'Cache'):
    row[output_columns(attribute)[0]] = filled.get(attribute)
  return row


def test_each_counter_by_hand():
  rows = [_row(RING, **{'Metal Type': 'SILVER', 'Brand': 'Aurelia', 'Gender': 'Women'}),
          _row(CPU, **{'Processor Type': None, 'Cache': None, 'Brand': 'Intel'})]
  report = score.score(rows, [RING, CPU])
  overall = report['overall']
  # Metal Type: right (a second surface form, another case); Brand: wrong value; Gender n/a
  # filled: spurious; Processor Type missed; Cache n/a left empty; Brand of a CPU: outside
  # its category, spurious.
  assert (overall['vc'], overall['vw'], overall['nv'], overall['vn'], overall['nn']) == (1, 1, 2, 1, 1)
  assert overall['precision'] == pytest.approx(1 / 4) and overall['recall'] == pytest.approx(1 / 3)
  assert report['fills_outside_category'] == 1 and report['fills'] == 4
  assert report['na_cells'] == 2 and report['na_left_empty'] == 0.5
  assert report['per_attribute']['Jewelry / Metal Type']['vc'] == 1
  strict = score.score(rows, [RING, CPU], fold_case=False)
  assert strict['overall']['vc'] == 0 and strict['overall']['vw'] == 2   # 'SILVER' is not 'silver'


def test_a_test_offer_missing_from_the_catalog_is_an_error_naming_it():
  with pytest.raises(ValueError, match=r"1 test offers are not in the enriched catalog, e\.g\. \['2'\]"):
    score.score([_row(RING)], [RING, CPU])


def test_the_catalog_holds_known_values_and_offers_to_fill(tmp_path):
  data = tmp_path / 'data'
  for variant, folder in wdc.VARIANTS.items():
    (data / folder).mkdir(parents=True)
    (data / folder / 'train_large.jsonl').write_text(json.dumps(RING) + '\n')
    (data / folder / 'test.jsonl').write_text(json.dumps(CPU) + '\n')
  path = wdc.write_catalog(str(tmp_path / 'out'), data_dir=str(data), no_value_marker='n/a')
  rows = {r['product_id']: r for r in pq.read_table(path).to_pylist()}
  # One spelling per known value, the title's; n/a written as the marker; test offers empty.
  assert (rows['1']['Metal Type'], rows['1']['Brand'], rows['1']['Gender']) == ('Sterling Silver', 'Aurel', 'n/a')
  assert rows['2']['category'] == 'Computers' and rows['2']['Processor Type'] is None
  assert (tmp_path / 'out' / 'attribute_map.csv').read_text().splitlines() == [
      'category,attribute', 'Computers,Cache', 'Computers,Processor Type', 'Jewelry,Brand',
      'Jewelry,Gender', 'Jewelry,Metal Type']
