import base64
import html.parser

import pyarrow as pa
import pyarrow.parquet as pq

from evaluation import run_report

ATTRIBUTES = ['Brand Name', 'Material']
TRICKY_TITLE = 'Sneakers <Air> "Max" & Co by Nike'   # the value after the HTML specials


class _Page(html.parser.HTMLParser):
  """The report as data: table rows (cell texts) under each <h2>/<h3>, and the images."""

  def __init__(self, text):
    super().__init__()
    self.tables, self.images, self.heading, self.cell, self.row = {}, [], '', None, None
    self._in_heading = False
    self.feed(text)

  def handle_starttag(self, tag, attrs):
    if tag in ('h2', 'h3'):
      self._in_heading, self.heading = True, ''
    elif tag == 'tr':
      self.row = []
    elif tag in ('td', 'th'):
      self.cell = ''
    elif tag == 'img':
      self.images.append(dict(attrs))

  def handle_endtag(self, tag):
    if tag in ('h2', 'h3'):
      self._in_heading = False
    elif tag in ('td', 'th') and self.row is not None:
      self.row.append(self.cell.strip())
      self.cell = None
    elif tag == 'tr':
      self.tables.setdefault(self.heading, []).append(self.row)
      self.row = None

  def handle_data(self, data):
    if self._in_heading:
      self.heading += data
    elif self.cell is not None:
      self.cell += data

  def find(self, heading, first_cell):
    return next(r for r in self.tables[heading] if r[0] == first_cell)


def _counts(vc, vw, vn, nv, nn=0):
  p = vc / (nv + vc + vw) if nv + vc + vw else 0.0
  r = vc / (vn + vc + vw) if vn + vc + vw else 0.0
  return {'nn': nn, 'nv': nv, 'vn': vn, 'vc': vc, 'vw': vw, 'total': nn + nv + vn + vc + vw,
          'precision': p, 'recall': r, 'f1': 2 * p * r / (p + r) if p + r else 0.0}


def _gate(blessed=True, baseline=True):
  brand, material = _counts(vc=5, vw=1, vn=0, nv=0), _counts(vc=2, vw=1, vn=1, nv=0)  # F1 83.3, 57.1
  overall = _counts(vc=7, vw=2, vn=1, nv=0)                                          # F1 73.7
  gate = {'examples': 10, 'precision': 'float32', 'min_f1': 0.5, 'max_f1_drop': 0.01,
          'blessed': blessed, 'reason': 'exact-match F1 0.7368 >= 0.5000' if blessed else
          'exact-match F1 0.7368 is below the threshold 0.8000',
          'model': {'overall': overall, 'per_attribute': {'Brand Name': brand, 'Material': material},
                    'threshold_sweep': [], 'reliability': []}}
  if baseline:
    gate['baseline'] = {'overall': _counts(vc=6, vw=3, vn=1, nv=0),                  # F1 63.2
                        'per_attribute': {'Brand Name': _counts(vc=4, vw=2, vn=0, nv=0)}}
  return gate


def _catalog(tmp_path):
  """Two files, as Beam shards them. Brand Name: 3 filled, 2 "no value", 1 known (not asked);
  Material: 1 filled, 4 "no value", 1 known."""
  rows = [  # product_id, title, brand value, brand conf, material value, material conf
      ('p1', TRICKY_TITLE, 'Nike', 0.97, None, 0.80),
      ('p2', 'Adidas cotton tee', 'Adidas', 0.91, 'cotton', 0.88),
      ('p3', 'Plain wool scarf', None, 0.66, None, 0.40),
      ('p4', 'Puma leather belt', 'Puma', 0.55, None, 0.30),
      ('p5', 'Gift card', None, 0.99, None, 0.95),
      ('p6', 'Known brand item', None, None, None, None),
  ]
  (tmp_path / 'out').mkdir()
  for part, chunk in enumerate((rows[:3], rows[3:])):
    pid, title, bv, bc, mv, mc = map(list, zip(*chunk))
    pq.write_table(pa.table({
        'product_id': pid, 'title': title, 'description': ['x'] * len(pid),
        'brand_name__value': pa.array(bv, pa.string()), 'brand_name__confidence': pa.array(bc, pa.float64()),
        'brand_name__model_version': pa.array(['m-1'] * len(pid), pa.string()),
        'material__value': pa.array(mv, pa.string()), 'material__confidence': pa.array(mc, pa.float64()),
        'material__model_version': pa.array(['m-1'] * len(pid), pa.string())}),
        str(tmp_path / 'out' / f'catalog-0000{part}-of-00002.parquet'))
  (tmp_path / 'quarantined').mkdir()
  pq.write_table(pa.table({
      'product_id': ['d1', 'd1', None], 'title': ['Dup <one>', 'Dup two', 'No id shirt'],
      'description': ['', '', ''],
      'quarantine_reason': ['duplicate product_id (2 rows)'] * 2 + ['missing product_id']}),
      str(tmp_path / 'quarantined' / 'rows-00000-of-00001.parquet'))
  return {'filled': True, 'model_version': 'Trainer-7-abcdef123456', 'rows_in': 9, 'rows_out': 6,
          'quarantined': 3, 'quarantine_reasons': {'duplicate product_id (2 rows)': 2, 'missing product_id': 1},
          'questions': {'Brand Name': 5, 'Material': 5}, 'values_filled': {'Brand Name': 3, 'Material': 1},
          'catalog_files': str(tmp_path / 'out' / 'catalog-*.parquet'),
          'quarantine_files': str(tmp_path / 'quarantined' / '*.parquet')}


def _report(tmp_path, summary, gate, **kwargs):
  path = run_report.write_run_report(str(tmp_path / 'report'), summary, gate, ATTRIBUTES, **kwargs)
  assert path == str(tmp_path / 'report' / 'report.html')
  with open(path, encoding='utf-8') as f:
    return f.read()


def test_header_gate_numbers_with_baseline_and_filled_counts(tmp_path):
  text = _report(tmp_path, _catalog(tmp_path), _gate())
  page = _Page(text)
  assert 'Trainer-7-abcdef123456' in text and 'exact-match F1 0.7368 &gt;= 0.5000' in text
  assert '>blessed<' in text and 'not filled' not in text
  gate = 'Gate: exact match on the eval split'
  assert page.tables[gate][0][-3:] == ['F1 %', 'baseline F1 %', 'Δ F1']
  # attribute, triples, right, wrong value, missed, spurious, P, R, F1, baseline F1, delta
  assert page.find(gate, 'overall') == ['overall', '10', '7', '2', '1', '0', '77.8', '70.0', '73.7', '63.2', '+10.5']
  assert page.find(gate, 'Brand Name') == ['Brand Name', '6', '5', '1', '0', '0', '83.3', '83.3', '83.3', '66.7',
                                          '+16.7']
  assert page.find(gate, 'Material')[-3:] == ['57.1', '–', '–']   # no baseline for this attribute
  filled = 'Values filled'
  assert page.find(filled, 'Brand Name') == ['Brand Name', '5', '3', '0', '0', '60.0']
  assert page.find(filled, 'Material') == ['Material', '5', '1', '0', '0', '20.0']
  assert [c for c in page.tables['Values filled'][0]] == ['attribute', 'questions', 'filled', 'withheld',
                                                          'claimed', 'filled % of questions']


def test_values_claimed_by_another_attribute_and_the_pairs_that_share(tmp_path):
  summary = dict(_catalog(tmp_path), values_claimed={'Brand Name': 0, 'Material': 2}, one_attribute_per_value=True,
                 shared_values=[['Brand Name', 'Material', 3]])
  text = _report(tmp_path, summary, _gate())
  assert _Page(text).find('Values filled', 'Material') == ['Material', '5', '1', '0', '2', '20.0']
  assert 'Brand Name and Material (3 rows)' in text
  off = _report(tmp_path, dict(summary, one_attribute_per_value=False), _gate())
  assert 'fills only one of them' not in off and 'fills only one of them' in text


def test_questions_reused_and_the_steps_cost_per_million(tmp_path):
  summary = dict(_catalog(tmp_path), questions_distinct=8, questions_reused=6, questions_asked=2,
                 cost={'cpu_seconds': {'questions': 1.5, 'inference': 3.0, 'writer': None, 'total': 4.5},
                       'complete': False, 'per_million_questions': 450000.0, 'per_million_filled': 1125000.0})
  page = _Page(_report(tmp_path, summary, _gate()))
  section = 'Questions and cost'
  assert page.find(section, 'questions (rows missing a value)') == ['questions (rows missing a value)', '10']
  assert page.find(section, "answered by the previous run's model (--incremental)")[1] == '6'
  assert page.find(section, 'asked of the model')[1] == '2'
  assert page.find(section, 'writer') == ['writer', '–'] and page.find(section, 'total') == ['total', '4.5']
  assert page.find(section, 'per million values filled') == ['per million values filled', '1,125,000 s (312.5 h)']
  assert 'did not record its time' in _report(tmp_path, summary, _gate())


def test_quarantine_reasons_with_counts_and_an_example_row(tmp_path):
  page = _Page(_report(tmp_path, _catalog(tmp_path), _gate()))
  assert page.tables['Quarantine'][1:] == [['duplicate product_id (2 rows)', '2', 'd1', 'Dup <one>'],
                                           ['missing product_id', '1', '', 'No id shirt']]


def test_examples_escape_titles_prefer_filled_values_and_are_seeded(tmp_path):
  summary = _catalog(tmp_path)
  all_examples = _report(tmp_path, summary, _gate(), examples_per_attribute=10)
  assert 'Sneakers &lt;Air&gt; &quot;Max&quot; &amp; Co by <mark>Nike</mark>' in all_examples
  assert TRICKY_TITLE not in all_examples
  assert '<Air>' not in all_examples and TRICKY_TITLE in [r[1] for r in _Page(all_examples).tables['Brand Name']]
  # The known row p6 (not asked) never appears; the 5 answered rows do.
  assert sorted(r[0] for r in _Page(all_examples).tables['Brand Name'][1:]) == ['p1', 'p2', 'p3', 'p4', 'p5']
  text = _report(tmp_path, summary, _gate(), examples_per_attribute=2)
  page = _Page(text)
  brand = page.tables['Brand Name'][1:]
  assert len(brand) == 2 and all(pid in {'p1', 'p2', 'p4'} for pid, *_ in brand)   # only filled rows
  assert all(value != 'no value' for _, _, value, _ in brand)
  assert {('p1', 'Nike', '0.97'), ('p2', 'Adidas', '0.91'), ('p4', 'Puma', '0.55')} >= {
      (pid, value, conf) for pid, _, value, conf in brand}
  material = page.tables['Material'][1:]   # one filled value, then a "no value" answer
  assert material[0] == ['p2', 'Adidas cotton tee', 'cotton', '0.88'] and material[1][2] == 'no value'
  assert '<mark>cotton</mark>' in text
  for seed in range(8):   # whatever the seed, a filled value is shown before any "no value"
    material = _Page(_report(tmp_path, summary, _gate(), examples_per_attribute=1, seed=seed)).tables['Material']
    assert material[1][:3] == ['p2', 'Adidas cotton tee', 'cotton']
  # The same seed gives the same sample.
  assert _report(tmp_path, summary, _gate(), examples_per_attribute=2) == text
  samples = {tuple(r[0] for r in _Page(_report(tmp_path, summary, _gate(), examples_per_attribute=2, seed=s))
                   .tables['Brand Name'][1:]) for s in range(8)}
  assert len(samples) > 1   # the seed changes which filled rows are shown


def test_one_labelled_histogram_per_attribute(tmp_path):
  page = _Page(_report(tmp_path, _catalog(tmp_path), _gate()))
  assert [i['alt'] for i in page.images] == ['confidence histogram: Brand Name', 'confidence histogram: Material']
  for image in page.images:
    prefix = 'data:image/png;base64,'
    assert image['src'].startswith(prefix)
    assert base64.b64decode(image['src'][len(prefix):])[:8] == b'\x89PNG\r\n\x1a\n'


def test_histogram_counts_come_from_the_confidence_columns(tmp_path):
  histograms, _ = run_report._scan_catalog(_catalog(tmp_path)['catalog_files'], ATTRIBUTES, 5, 0)
  filled, no_value = histograms['Brand Name']
  assert filled.sum() == 3 and no_value.sum() == 2          # the known row p6 is not counted
  assert filled[-1] == 1 and no_value[-1] == 1               # 0.97 and 0.99 in the top bin
  assert histograms['Material'].sum() == 5


def test_not_filled_report_says_why_and_still_shows_the_gate(tmp_path):
  reason = 'model not blessed: exact-match F1 0.7368 is below the threshold 0.8000 <min_f1>'
  text = _report(tmp_path, {'filled': False, 'reason': reason}, _gate(blessed=False, baseline=False))
  assert 'The catalog was not filled.' in text and run_report.html.escape(reason) in text
  assert '>not blessed<' in text
  page = _Page(text)
  assert page.find('Gate: exact match on the eval split', 'Material')[-1] == '57.1'
  assert not page.images and 'Values filled' not in page.tables


def test_without_gate_metrics(tmp_path):
  text = _report(tmp_path, _catalog(tmp_path), None)
  assert 'No gate metrics given.' in text and len(_Page(text).images) == 2


def test_relative_paths(tmp_path, monkeypatch):
  summary = _catalog(tmp_path)
  monkeypatch.chdir(tmp_path)
  summary.update(catalog_files='out/catalog-*.parquet', quarantine_files='quarantined/*.parquet')
  path = run_report.write_run_report('report', summary, None, ATTRIBUTES)
  with open(path, encoding='utf-8') as f:
    page = _Page(f.read())
  assert len(page.images) == 2 and page.find('Quarantine', 'missing product_id')[2:] == ['', 'No id shirt']


def test_categories_and_what_the_known_values_gave_are_in_the_report(tmp_path):
  summary = dict(_catalog(tmp_path), categories={
      'column': 'category', 'applicable': {'Shoes': ['Brand Name']},
      'per_category': {'Shoes': {'rows': 6, 'attributes': ['Brand Name'], 'questions': 5, 'questions_saved': 6}},
      'rows_without_category': 1, 'rows_with_unmapped_category': 0, 'map_categories_not_in_catalog': ['Hats']})
  gate = dict(_gate(), mined={'Brand Name': {'known': 4, 'aligned': 3, 'not_in_text_skipped': 1,
                                             'value_removed': 3, 'kept': 6}})
  text = _report(tmp_path, summary, gate)
  page = _Page(text)
  assert page.find('Categories', 'Shoes') == ['Shoes', '6', 'Brand Name', '5', '6']
  assert '1 rows without a category' in text and 'categories this catalog lacks: Hats' in text
  assert 'Training data from the catalog' in text
  mined = page.tables["From the catalog's known values"]
  assert mined[0] == ['attribute', 'known', 'aligned', 'not in text skipped', 'value removed', 'kept']
  assert mined[1] == ['Brand Name', '4', '3', '1', '3', '6']


def test_hostile_seller_text_stays_text_in_the_report(tmp_path):
  hostile = ['<script>alert(1)</script> Nike', '=HYPERLINK("http://evil.example","click") Nike',
             'Bell\x07 Nike']
  summary = _catalog(tmp_path)
  for part, path in enumerate(sorted((tmp_path / 'out').glob('*.parquet'))):
    table = pq.read_table(str(path))
    titles = [hostile[(3 * part + i) % len(hostile)] for i in range(table.num_rows)]
    pq.write_table(table.set_column(table.column_names.index('title'), 'title', pa.array(titles)), str(path))
  text = _report(tmp_path, summary, _gate(), examples_per_attribute=10)
  assert '<script>' not in text and '&lt;script&gt;alert(1)&lt;/script&gt;' in text
  assert 'href="http://evil.example"' not in text and '=HYPERLINK(&quot;http://evil.example&quot;' in text


def test_precision_targets_show_each_attributes_threshold_bound_fills_and_curve(tmp_path):
  from evaluation import precision_targets
  evidence = {'Brand Name': {'gold_values': 60, 'fills': [[0.99, 1]] * 50 + [[0.5, 0]] * 10},
              'Material': {'gold_values': 5, 'fills': [[0.9, 1]] * 3}}
  thresholds = precision_targets.thresholds(evidence, {'*': 0.9}, ATTRIBUTES)
  summary = dict(_catalog(tmp_path), values_withheld={'Brand Name': 1, 'Material': 1})
  summary['values_filled'] = {'Brand Name': 2, 'Material': 0}
  text = _report(tmp_path, summary, _gate(), thresholds=thresholds)
  page = _Page(text)
  section = 'Precision targets'
  assert page.tables[section][0] == ['attribute', 'target', 'threshold', 'eval precision', 'lower bound',
                                     'eval fills', 'eval recall %', 'filled', 'withheld']
  assert page.find(section, 'Brand Name') == ['Brand Name', '0.90', '0.990', '1.000', '0.949', '50', '83.3', '2', '1']
  assert page.find(section, 'Material') == ['Material', '0.90', 'not reached', '–', '–', '0', '0.0', '0', '1']
  curves = [i for i in page.images if i['alt'].startswith('precision and recall: ')]
  assert [i['alt'] for i in curves] == ['precision and recall: Brand Name', 'precision and recall: Material']
  assert all(base64.b64decode(i['src'].split(',', 1)[1]).startswith(b'\x89PNG') for i in curves)
  # Without targets there is no such section.
  assert section not in _Page(_report(tmp_path, summary, _gate())).tables


def test_the_report_says_how_the_model_was_served_and_why(tmp_path):
  (tmp_path / 'named').mkdir()
  summary = dict(_catalog(tmp_path), served_with={'runtime': 'onnx', 'precision': 'int8'})
  gate = dict(_gate(), runtime='onnx', precision='int8', serving={
      'runtime': 'onnx', 'precision': 'int8', 'chosen_by': 'gate',
      'reason': 'ONNX int8 F1 73.60 vs TensorFlow float32 73.68 (-0.08 points; tolerance -0.3)'})
  page = _report(tmp_path, summary, gate)
  assert 'Trainer-7-abcdef123456</code>, served with onnx int8' in page
  assert 'Serving chosen by the gate: ONNX int8 F1 73.60 vs TensorFlow float32 73.68' in page
  named = _report(tmp_path, _catalog(tmp_path / 'named'), dict(_gate(), serving={'chosen_by': 'flags'}))
  assert 'served with' not in named and 'Serving chosen by the gate' not in named
