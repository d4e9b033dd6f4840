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


def _codes(vc, vw, vn, nv, nn):
  """Outcome codes (model/exact_match.OUTCOMES order: nn, nv, vn, vc, vw) of constructed triples."""
  import numpy as np
  return np.array([0] * nn + [1] * nv + [2] * vn + [3] * vc + [4] * vw, np.int8)


def test_a_drop_within_noise_does_not_refuse_a_drop_beyond_it_does():
  import numpy as np
  from evaluation import significance
  rng = np.random.default_rng(0)
  # 60 triples: the candidate misses 2 values the blessed model found (F1 96.4 -> 93.2).
  blessed = _codes(vc=56, vw=0, vn=2, nv=0, nn=2)
  candidate = blessed.copy()
  candidate[np.flatnonzero(blessed == 3)[:2]] = 2
  noisy = significance.paired_f1_difference_of_codes(candidate, blessed)
  assert noisy['low'] < 0 < noisy['high'] or noisy['high'] == 0
  f1 = lambda codes: float(significance.f1_of_codes(codes))
  blessed_f1, candidate_f1 = f1(blessed), f1(candidate)
  assert candidate_f1 < blessed_f1 - 0.01
  ok, reason = decide(candidate_f1, blessed_f1, 0.5, 0.01, difference=noisy)
  assert ok and 'within noise' in reason and '95% interval' in reason
  # 4,000 triples, the candidate wrong on 200 the blessed model had right: beyond noise.
  big = rng.permutation(_codes(vc=3600, vw=100, vn=200, nv=50, nn=50))
  worse = big.copy()
  worse[np.flatnonzero(big == 3)[:200]] = 4
  clear = significance.paired_f1_difference_of_codes(worse, big, resamples=500)
  assert clear['high'] < 0
  refused, reason = decide(f1(worse), f1(big), 0.5, 0.01, difference=clear)
  assert not refused and 'worse than the last blessed model' in reason and 'paired bootstrap over 4000' in reason
  # Without a paired comparison the drop alone decides, as before.
  assert decide(candidate_f1, blessed_f1, 0.5, 0.01)[0] is False
