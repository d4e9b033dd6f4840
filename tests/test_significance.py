import numpy as np

from evaluation import significance
from model import exact_match


def test_f1_of_codes_matches_the_metric():
  rng = np.random.default_rng(1)
  values = ['red', 'blue', 'NULL', '']
  gold = list(rng.choice(values, 300))
  predicted = list(rng.choice(values, 300))
  counts, _ = exact_match.score(('a', g, p) for g, p in zip(gold, predicted))
  assert np.isclose(significance.f1_of_codes(significance.outcome_codes(gold, predicted)), counts.f1)


def test_f1_of_codes_by_hand():
  # VC, VC, VW, VN, NV, NN: P = 2/4, R = 2/4, F1 = 0.5
  codes = np.array([exact_match.OUTCOMES.index(o) for o in ('vc', 'vc', 'vw', 'vn', 'nv', 'nn')])
  assert np.isclose(significance.f1_of_codes(codes), 0.5)
  assert significance.f1_of_codes(np.array([0, 0])) == 0.0   # only NN: nothing to score


def test_a_clearly_better_model_has_an_interval_above_zero():
  rng = np.random.default_rng(0)
  gold = [f'v{i}' for i in range(400)]
  ours = [g if rng.random() < 0.9 else 'wrong' for g in gold]
  theirs = [g if rng.random() < 0.6 else 'wrong' for g in gold]
  result = significance.paired_f1_difference(gold, ours, theirs, resamples=500)
  assert 20 < result['difference'] < 40
  assert 0 < result['low'] < result['difference'] < result['high']


def test_equal_answers_differ_by_nothing_and_lengths_must_match():
  gold, answers = ['a', 'b', 'NULL'], ['a', 'x', '']
  assert significance.paired_f1_difference(gold, answers, answers)['high'] == 0.0
  try:
    significance.paired_f1_difference(gold, answers, answers[:2])
  except ValueError as error:
    assert '3 gold values but 2 predictions' in str(error)
  else:
    raise AssertionError('length mismatch accepted')
