import pytest

from evaluation.gate import decide
from catalog.splits import EVAL, SplitRule


def rule_of(rule, seed=0, eval_percent=20, held_out_attributes=()):
  return SplitRule(rule, seed, eval_percent, held_out_attributes)


def test_grouped_split_keeps_a_title_on_one_side():
  rule = rule_of('grouped', seed=1)
  for i in range(50):
    title = f'Product {i} Black Shoes'
    sides = {rule.split_of(f'{title}\u0001{a}\u0001x', title, a) for a in ('Color', 'Material', 'Brand Name')}
    assert len(sides) == 1


def test_random_split_is_about_eighty_twenty_and_seeded():
  lines = [f'title {i}\u0001Color\u0001NULL' for i in range(4000)]
  sides = [rule_of('random', seed=0).split_of(l, 'x', 'Color') for l in lines]
  assert 0.18 < sides.count(EVAL) / len(sides) < 0.22
  assert sides != [rule_of('random', seed=1).split_of(l, 'x', 'Color') for l in lines]


def test_unknown_rule_and_bad_percent_are_clear_errors():
  with pytest.raises(ValueError, match='unknown split rule'):
    rule_of('by_month')
  with pytest.raises(ValueError, match='eval_percent'):
    rule_of('random', eval_percent=100)


def test_gate_threshold_and_regression():
  assert decide(0.80, None, 0.7, 0.01) == (True, 'exact-match F1 0.8000 >= 0.7000')
  assert decide(0.60, None, 0.7, 0.01)[0] is False
  blessed, reason = decide(0.78, 0.80, 0.7, 0.01)
  assert not blessed and 'worse than the last blessed model' in reason
  assert decide(0.795, 0.80, 0.7, 0.01)[0] is True


def test_gate_refuses_an_untrained_model_whatever_its_f1():
  assert decide(0.99, None, 0.0, 1.0, steps_trained=0) == (False, 'the model was trained 0 steps')
  assert decide(0.99, None, 0.0, 1.0, steps_trained=1)[0] is True
  assert decide(0.99, None, 0.0, 1.0, steps_trained=None)[0] is True   # older exports do not say
