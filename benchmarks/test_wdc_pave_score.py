"""The WDC-PAVE catalog converter and scorer on hand-made offers (no data copied)."""
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from benchmarks import wdc_pave_catalog as wdc
from benchmarks import wdc_pave_score
from catalog.columns import output_columns


def _value(*forms):
  return {form: {'pid': [0], 'score': 1} for form in forms}


NOT_STATED = {'n/a': 1}
RING = {'id': 1, 'category': 'Jewelry', 'input_title': 'Aurel Sterling Silver Ring', 'input_description': 'A ring.',
        'target_scores': {'Metal Type': _value('Sterling Silver', 'silver'), 'Brand': _value('Aurel'),
                          'Gender': NOT_STATED, 'Stone Shape': NOT_STATED}}
CPU = {'id': 2, 'category': 'Computers', 'input_title': 'Xeon E5335 2.0GHz 80W', 'input_description': '',
       'target_scores': {'Processor Type': _value('Xeon E5335', 'Intel Xeon E5335'), 'Clock Speed': _value('2.0GHz'),
                         'Thermal Design Power': _value('80W'), 'Cache': NOT_STATED}}
# Every attribute of both categories, as a run targets them all; plus one WDC-PAVE does not annotate.
ATTRIBUTES = sorted({*RING['target_scores'], *CPU['target_scores'], 'Color'})


def _row(offer, **filled):
  """An enriched row with every attribute's columns; keywords fill values (Metal_Type='silver')."""
  row = {'product_id': str(offer['id']), 'category': offer['category']}
  for attribute in ATTRIBUTES:
    value, confidence, version = output_columns(attribute)
    row[value] = filled.get(attribute.replace(' ', '_'))
    row[confidence], row[version] = (0.9, '1') if row[value] else (None, None)
  return row


# RING: a second surface form (vc), another value (vw), an n/a filled (nv), an n/a left empty (nn).
# CPU: a gold value left empty (vn), a right one (vc), a blank cell (vn), an n/a left blank (nn).
RING_ROW = _row(RING, Metal_Type='silver', Brand='Aurelia', Gender='Women')
CPU_ROW = _row(CPU, Clock_Speed='2.0GHz', Thermal_Design_Power='  ', Cache=' ')


def test_each_counter_of_the_offers_categories_by_hand():
  report = wdc_pave_score.score([RING_ROW, CPU_ROW], [RING, CPU])
  overall = report['overall']
  assert [overall[k] for k in ('vc', 'vw', 'vn', 'nv', 'nn')] == [2, 1, 2, 1, 2]
  assert overall['precision'] == pytest.approx(2 / 4) and overall['recall'] == pytest.approx(2 / 5)
  assert overall['f1'] == pytest.approx(2 * (2 / 4) * (2 / 5) / (2 / 4 + 2 / 5))
  assert (overall['fills'], overall['out_of_category_fills']) == (4, 0)
  assert (overall['na_cells'], overall['na_left_empty']) == (3, pytest.approx(2 / 3))
  jewelry, computers = report['per_category']['Jewelry'], report['per_category']['Computers']
  assert (jewelry['precision'], jewelry['recall'], jewelry['na_left_empty']) == (
      pytest.approx(1 / 3), pytest.approx(1 / 2), pytest.approx(1 / 2))
  assert (computers['precision'], computers['recall'], computers['na_left_empty']) == (1.0, pytest.approx(1 / 3), 1.0)
  assert report['per_attribute']['Jewelry']['Metal Type']['vc'] == 1
  assert report['per_attribute']['Computers']['Thermal Design Power']['vn'] == 1
  # Only each offer's own attributes have rows; the attributes of the run are every value column.
  assert sorted(report['per_attribute']['Jewelry']) == sorted(RING['target_scores'])
  assert report['attributes'] == ['Brand', 'Cache', 'Clock Speed', 'color', 'Gender', 'Metal Type',
                                  'Processor Type', 'Stone Shape', 'Thermal Design Power']


def test_a_fill_outside_the_offers_category_is_spurious_and_counted_apart():
  ring = _row(RING, Metal_Type='silver', Brand='Aurelia', Gender='Women', Color='Silver', Processor_Type='')
  cpu = _row(CPU, Clock_Speed='2.0GHz', Brand='Intel')
  report = wdc_pave_score.score([ring, cpu], [RING, CPU])
  overall = report['overall']
  # Two more nv than above (Color of the ring, Brand of the CPU); the empty Processor Type of
  # the ring is not counted; n/a left empty is about the offer's own n/a cells only.
  assert [overall[k] for k in ('vc', 'vw', 'vn', 'nv', 'nn')] == [2, 1, 2, 3, 2]
  assert overall['precision'] == pytest.approx(2 / 6) and overall['recall'] == pytest.approx(2 / 5)
  assert (overall['fills'], overall['out_of_category_fills'], overall['na_left_empty']) == (6, 2, pytest.approx(2 / 3))
  assert report['per_category']['Computers']['out_of_category_fills'] == 1
  assert report['per_category']['Computers']['precision'] == pytest.approx(1 / 2)
  assert 'Brand' not in report['per_attribute']['Computers']


def test_case_is_folded_by_default_and_kept_with_strict_case():
  shirt = {'id': 3, 'category': 'Clothing', 'target_scores': {'Colour': _value('Black')}}
  row = {'product_id': '3', output_columns('Colour')[0]: 'BLACK'}
  assert wdc_pave_score.score([row], [shirt])['overall']['vc'] == 1
  strict = wdc_pave_score.score([row], [shirt], fold_case=False)['overall']
  assert (strict['vc'], strict['vw'], strict['f1']) == (0, 1, 0.0)


def test_same_value_is_any_surface_form_with_spacing_collapsed():
  forms = ['Xeon E5335', 'Intel Xeon E5335']
  assert wdc_pave_score.same_value('intel  xeon E5335 ', forms)
  assert not wdc_pave_score.same_value('intel xeon e5335', forms, fold_case=False)
  assert not wdc_pave_score.same_value('Xeon', forms)


def test_a_test_offer_missing_from_the_catalog_is_an_error_naming_it():
  with pytest.raises(ValueError, match=r'1 of 2 test offers are missing from the enriched catalog: 2$'):
    wdc_pave_score.score([RING_ROW], [RING, CPU])


def test_a_catalog_without_value_columns_is_an_error():
  with pytest.raises(ValueError, match='no \\*__value column'):
    wdc_pave_score.score([{'product_id': '1'}], [RING])


def _write_test_offers(data_dir, *offers):
  folder = data_dir / wdc.VARIANTS['raw']
  folder.mkdir(parents=True)
  (folder / 'test.jsonl').write_text(''.join(json.dumps(o) + '\n' for o in offers))


def test_main_scores_the_test_offers_of_the_enriched_files(tmp_path, capsys):
  _write_test_offers(tmp_path / 'data', RING, CPU)
  known_offer = {**_row(CPU, Clock_Speed='3.0GHz'), 'product_id': '99'}   # a train offer: not scored
  for name, rows in (('catalog-00000-of-00002.parquet', [RING_ROW, known_offer]),
                     ('catalog-00001-of-00002.parquet', [CPU_ROW])):
    pq.write_table(pa.Table.from_pylist(rows), str(tmp_path / name))
  out = tmp_path / 'report.json'
  wdc_pave_score.main(['--enriched', str(tmp_path / 'catalog-*.parquet'), '--data-dir', str(tmp_path / 'data'),
                       '--json', str(out)])
  printed = capsys.readouterr().out
  assert '| **overall** | 2 | 1 | 2 | 1 | 2 | 50.0 | 40.0 | 44.4 | 66.7 | 0 |' in printed
  assert '| Jewelry | Metal Type | 1 | 0 | 0 | 0 | 0 | 100.0 | 100.0 | 100.0 | – |' in printed
  assert json.loads(out.read_text()) == json.loads(json.dumps(wdc_pave_score.score([RING_ROW, CPU_ROW], [RING, CPU])))
  wdc_pave_score.main(['--enriched', str(tmp_path / 'catalog-*.parquet'), '--data-dir', str(tmp_path / 'data'),
                       '--strict-case'])
  assert 'case kept' in capsys.readouterr().out


def test_fills_below_min_confidence_are_read_as_empty(tmp_path):
  row = _row(RING, Metal_Type='silver', Brand='Aurel')
  row[output_columns('Brand')[1]] = 0.4
  pq.write_table(pa.Table.from_pylist([row]), str(tmp_path / 'catalog-00000-of-00001.parquet'))
  pattern = str(tmp_path / 'catalog-*.parquet')
  value = lambda rows, attribute: rows[0][output_columns(attribute)[0]]
  every_fill = wdc_pave_score.read_enriched(pattern)
  assert (value(every_fill, 'Brand'), value(every_fill, 'Metal Type')) == ('Aurel', 'silver')
  stricter = wdc_pave_score.read_enriched(pattern, min_confidence=0.5)
  assert (value(stricter, 'Brand'), value(stricter, 'Metal Type')) == (None, 'silver')
  assert not any(c.endswith(wdc_pave_score.CONFIDENCE_SUFFIX) for c in stricter[0])


def test_main_says_what_is_missing(tmp_path):
  _write_test_offers(tmp_path / 'data', RING, CPU)
  with pytest.raises(SystemExit, match='no enriched catalog file matches'):
    wdc_pave_score.main(['--enriched', str(tmp_path / 'catalog-*.parquet'), '--data-dir', str(tmp_path / 'data')])
  pq.write_table(pa.Table.from_pylist([RING_ROW]), str(tmp_path / 'catalog-00000-of-00001.parquet'))
  with pytest.raises(SystemExit, match='test offers are missing from the enriched catalog: 2'):
    wdc_pave_score.main(['--enriched', str(tmp_path / 'catalog-*.parquet'), '--data-dir', str(tmp_path / 'data')])


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
      'category,attribute', 'Computers,Cache', 'Computers,Clock Speed', 'Computers,Processor Type',
      'Computers,Thermal Design Power', 'Jewelry,Brand', 'Jewelry,Gender', 'Jewelry,Metal Type',
      'Jewelry,Stone Shape']


def test_the_text_spelling_reads_the_span_of_the_same_fills(tmp_path):
  from catalog.columns import span_column
  row = _row(RING, Metal_Type='Sterling Silver', Brand=None)
  row[span_column('Metal Type')] = 'STERLING SILVER'
  row[span_column('Brand')] = 'Aurel'      # withheld below its threshold: not a fill in either spelling
  pq.write_table(pa.Table.from_pylist([row]), str(tmp_path / 'catalog-00000-of-00001.parquet'))
  pattern = str(tmp_path / 'catalog-*.parquet')
  value = lambda rows, attribute: rows[0][output_columns(attribute)[0]]
  catalog, text = (wdc_pave_score.read_enriched(pattern, spelling=s) for s in ('catalog', 'text'))
  assert (value(catalog, 'Metal Type'), value(catalog, 'Brand')) == ('Sterling Silver', None)
  assert (value(text, 'Metal Type'), value(text, 'Brand')) == ('STERLING SILVER', None)
  assert not any(c.endswith(wdc_pave_score.SPAN_SUFFIX) for c in text[0])


@pytest.mark.parametrize('normalised, raw, kind', [
    (['Hewlett-Packard'], ['Hewlett-Packard', 'HP'], 'unchanged'),
    (['435952B21'], ['435952-B21'], 'wrangling'),
    (['8 Megabytes'], ['8MB-2x4MB'], 'units and numbers'),
    (['Hewlett-Packard'], ['HP'], 'expansion or generalisation'),
    (['Red'], ['Magenta'], 'expansion or generalisation'),
])
def test_how_a_gold_value_was_normalised(normalised, raw, kind):
  assert wdc_pave_score.normalisation_kind(normalised, raw) == kind


def test_gold_values_are_tallied_by_normalisation_kind():
  normalised_cpu = dict(CPU, target_scores=dict(CPU['target_scores'], **{'Processor Type': _value('Intel Xeon Series'),
                                                                        'Clock Speed': _value('2.0 GHz')}))
  kinds = wdc_pave_score.kinds_of([normalised_cpu], [CPU])
  assert kinds == {('2', 'Processor Type'): 'expansion or generalisation', ('2', 'Clock Speed'): 'wrangling',
                   ('2', 'Thermal Design Power'): 'unchanged'}
  row = _row(CPU, Processor_Type='Xeon E5335', Clock_Speed='2.0GHz')
  report = wdc_pave_score.score([row], [normalised_cpu], kinds=kinds)
  assert {k: (v['vc'], v['vw'], v['vn']) for k, v in report['per_kind'].items()} == {
      'unchanged': (0, 0, 1), 'wrangling': (0, 1, 0), 'expansion or generalisation': (0, 1, 0)}
  assert '| wrangling | 1 | 0 | 1 | 0 | 0.0 | 0.0 |' in wdc_pave_score.markdown(report)
