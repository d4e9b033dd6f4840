import pytest

from benchmarks import dictionary_baseline
from components.exact_match_evaluator import decide
from components.splits import EVAL, SplitRule


def test_grouped_split_keeps_a_title_on_one_side():
  rule = SplitRule('grouped', seed=1)
  for i in range(50):
    title = f'Product {i} Black Shoes'
    sides = {rule.split_of(f'{title}\u0001{a}\u0001x', title, a) for a in ('Color', 'Material', 'Brand Name')}
    assert len(sides) == 1


def test_random_split_is_about_eighty_twenty_and_seeded():
  lines = [f'title {i}\u0001Color\u0001NULL' for i in range(4000)]
  sides = [SplitRule('random', seed=0).split_of(l, 'x', 'Color') for l in lines]
  assert 0.18 < sides.count(EVAL) / len(sides) < 0.22
  assert sides != [SplitRule('random', seed=1).split_of(l, 'x', 'Color') for l in lines]


def test_unknown_rule_and_bad_percent_are_clear_errors():
  with pytest.raises(ValueError, match='unknown split rule'):
    SplitRule('by_month')
  with pytest.raises(ValueError, match='eval_percent'):
    SplitRule('random', eval_percent=100)


def test_gate_threshold_and_regression():
  assert decide(0.80, None, 0.7, 0.01) == (True, 'exact-match F1 0.8000 >= 0.7000')
  assert decide(0.60, None, 0.7, 0.01)[0] is False
  blessed, reason = decide(0.78, 0.80, 0.7, 0.01)
  assert not blessed and 'worse than the last blessed model' in reason
  assert decide(0.795, 0.80, 0.7, 0.01)[0] is True


def test_dictionary_baseline_takes_the_longest_known_value():
  dictionary = dictionary_baseline.train_dictionary([
      ('t', 'Color', 'Blue'), ('t', 'Color', 'Sky Blue'), ('t', 'Color', 'NULL'), ('t', 'Material', 'Wool')])
  assert dictionary_baseline.predict(dictionary, 'Sky Blue Wool Scarf', 'Color') == 'Sky Blue'
  assert dictionary_baseline.predict(dictionary, 'Bluebird Scarf', 'Color') is None
  assert dictionary_baseline.predict(dictionary, 'Scarf', 'Brand Name') is None


def test_dictionary_baseline_breaks_length_ties_by_training_frequency():
  rows = [('t', 'Color', 'Red'), ('t', 'Color', 'Tan'), ('t', 'Color', 'Tan'), ('t', 'Color', 'Sky')]
  for order in (rows, rows[::-1]):   # the answer must not depend on the order seen
    dictionary = dictionary_baseline.train_dictionary(order)
    assert dictionary_baseline.predict(dictionary, 'Red Tan Sky Scarf', 'Color') == 'Tan'
    assert dictionary['Color'] == ['Tan', 'Red', 'Sky']
