import math

import pytest

from benchmarks import span_or_decision

ATTRIBUTES = ['Color', 'Color', 'Color', 'Material']
GOLD = ['Red', 'Blue', 'NULL', 'Cotton']
ANSWERS = ['', 'Blue', 'Green', '']       # the decision withheld a right span (Red)
BEST_SPANS = ['Red', 'Blue', 'Green', 'Silk']


def test_breakdown_separates_the_span_from_the_decision():
  table = span_or_decision.breakdown(ATTRIBUTES, GOLD, ANSWERS, BEST_SPANS)
  color = table['Color']
  assert (color['triples'], color['with_value']) == (3, 2)
  assert color['span_right'] == 100.0            # both valued spans right
  assert color['answered_with_value'] == 50.0    # but only one answered
  assert color['answered_null'] == 100.0
  assert color['f1'] == pytest.approx(50.0)      # VN + VC + NV
  assert color['f1_always_answered'] == pytest.approx(80.0)   # VC + VC + NV
  material = table['Material']
  assert material['span_right'] == 0.0 and material['f1_always_answered'] == 0.0
  assert math.isnan(material['answered_null'])   # no NULL triple to answer
  overall = table[span_or_decision.OVERALL]
  assert overall['span_right'] == pytest.approx(200 / 3)
  assert overall['f1'] == pytest.approx(40.0)
  assert overall['f1_always_answered'] == pytest.approx(400 / 7)


def test_markdown_has_a_row_per_attribute_and_overall():
  text = span_or_decision.markdown('run', span_or_decision.breakdown(ATTRIBUTES, GOLD, ANSWERS, BEST_SPANS))
  assert '| overall | 4 | 3 | 66.7% | 33.3% / 100.0% | 40.0 | 57.1 |' in text
  assert '| Color | 3 | 2 | 100.0% | 50.0% / 100.0% | 50.0 | 80.0 |' in text
  assert '| Material | 1 | 1 | 0.0% | 0.0% / - | 0.0 | 0.0 |' in text   # no NULL triple


def test_a_run_without_a_pushed_model_is_a_clear_error(tmp_path):
  (tmp_path / 'eval').mkdir()
  (tmp_path / 'eval' / 'eval.txt').write_text('Red Shirt\x01Color\x01Red\n')
  with pytest.raises(SystemExit, match='pushed model'):
    span_or_decision.run_breakdown(str(tmp_path))
