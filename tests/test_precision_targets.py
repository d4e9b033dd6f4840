"""Per-attribute thresholds at a precision target (evaluation/precision_targets.py)."""
import random

import pytest

from catalog.config import FillConfig
from evaluation import precision_targets as pt


def test_the_wilson_bound_is_below_the_estimate_and_tightens_with_the_sample():
  assert pt.wilson_lower_bound(0, 0) == 0.0
  assert pt.wilson_lower_bound(20, 20) == pytest.approx(0.8808, abs=1e-4)   # 20 of 20 is not 98%
  assert pt.wilson_lower_bound(95, 100) < 0.95 < pt.wilson_lower_bound(990, 1000)


def test_fill_evidence_counts_gold_values_and_judges_each_predicted_value():
  evidence = pt.fill_evidence(['Brand'] * 4 + ['Color'], ['Acme', 'Acme', None, 'Zeta', 'Red'],
                              ['ACME', 'Acme Pro', 'Acme', '', 'red'], [0.9, 0.8, 0.7, 0.1, 0.5])
  assert evidence == {'Brand': {'gold_values': 3, 'fills': [[0.9, 1], [0.8, 0], [0.7, 0]]},
                      'Color': {'gold_values': 1, 'fills': [[0.5, 1]]}}


def _constructed(seed=0, n=3000):
  """Fills whose chance of being right grows with confidence: right with probability c."""
  rng = random.Random(seed)
  fills = [[round(c, 4), int(rng.random() < c)] for c in (rng.random() for _ in range(n))]
  return {'gold_values': n, 'fills': fills}


@pytest.mark.parametrize('target', [0.8, 0.9, 0.95])
def test_the_threshold_is_the_lowest_whose_lower_bound_reaches_the_target(target):
  entry = _constructed()
  chosen = pt.choose_threshold(entry, target)
  above = [right for c, right in entry['fills'] if c >= chosen['threshold']]
  assert chosen['eval_fills'] == len(above) and chosen['expected_precision'] == sum(above) / len(above)
  assert chosen['lower_bound'] == pt.wilson_lower_bound(sum(above), len(above)) >= target
  assert chosen['expected_precision'] > chosen['lower_bound']
  # Every lower threshold misses the bound: this one is the lowest that holds.
  lower = [p for p in chosen['curve'] if p['threshold'] < chosen['threshold']]
  assert lower and all(p['lower_bound'] < target for p in lower)
  # On fresh data drawn the same way, precision at that threshold holds the target.
  fresh = [right for c, right in _constructed(seed=1, n=20000)['fills'] if c >= chosen['threshold']]
  assert sum(fresh) / len(fresh) >= target


def test_an_attribute_that_cannot_reach_its_target_gets_no_threshold():
  few = {'gold_values': 10, 'fills': [[0.99, 1]] * 10}           # 10 of 10: bound 0.72
  assert pt.choose_threshold(few, 0.9)['threshold'] is None
  chosen = pt.thresholds({'Brand': few}, {'*': 0.9, 'Brand': 0.7}, ['Brand', 'Color'])
  assert chosen['Brand']['threshold'] == 0.99 and chosen['Brand']['target'] == 0.7
  # An attribute the eval split never asked has no evidence: nothing to fill at any target.
  assert chosen['Color']['threshold'] is None and chosen['Color']['eval_fills'] == 0


def test_equal_confidences_pass_or_fail_together():
  entry = {'gold_values': 4, 'fills': [[0.9, 1], [0.5, 1], [0.5, 0], [0.5, 1]]}
  assert [(p['threshold'], p['fills']) for p in pt.curve(entry['fills'], 4)] == [(0.9, 1), (0.5, 4)]


def test_targets_from_the_flags():
  assert pt.parse_targets(0.95, 'Brand=0.98, Material = 0.9', ['Brand', 'Material']) == {
      '*': 0.95, 'Brand': 0.98, 'Material': 0.9}
  assert pt.parse_targets(None, '', ['Brand']) == {}


@pytest.mark.parametrize('target, per_attribute, message', [
    (0.0, '', r'--target-precision must be in \(0, 1\], got 0.0'),
    (1.5, '', r'--target-precision must be in \(0, 1\], got 1.5'),
    (None, 'Brand=2', r'--attribute-precision Brand must be in \(0, 1\], got 2.0'),
    (None, 'Brand', "--attribute-precision: 'Brand' is not ATTRIBUTE=P"),
    (None, 'Brand=high', "'high' is not a number"),
    (None, 'Weight=0.9', "'Weight' is not a target attribute"),
])
def test_a_target_outside_the_range_or_malformed_names_the_flag(target, per_attribute, message):
  with pytest.raises(ValueError, match=message):
    pt.parse_targets(target, per_attribute, ['Brand'])


@pytest.mark.parametrize('settings, message', [
    ({'target_precision': 0.0}, r'--target-precision must be in \(0, 1\]'),
    ({'target_precision': -0.5}, r'--target-precision must be in \(0, 1\]'),
    ({'attribute_precision': 'Brand=1.2'}, r'--attribute-precision Brand=1.2 must be in \(0, 1\]'),
    ({'attribute_precision': 'Brand=x'}, "'x' is not a number"),
])
def test_the_settings_refuse_a_target_outside_the_range(settings, message):
  with pytest.raises(ValueError, match=message):
    FillConfig(**settings)
  assert FillConfig(target_precision=1.0).has_targets and not FillConfig().has_targets
