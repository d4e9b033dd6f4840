"""Is one model's exact-match F1 really above another's on the same triples? The gate asks
it of a candidate and the last blessed model; the benchmarks of two runs.

Paired bootstrap over triples (scipy.stats.bootstrap, BCa interval): both models' answers
to a resampled triple are resampled together, so the interval reflects which triples
the test set happened to hold, not training noise (another seed of either model can
move it further).
"""
from typing import Dict, Sequence

import numpy as np
from scipy import stats

from model import exact_match


def outcome_codes(gold: Sequence, predicted: Sequence) -> np.ndarray:
  """Per triple, the index in exact_match.OUTCOMES of its counter."""
  if len(gold) != len(predicted):
    raise ValueError(f'{len(gold)} gold values but {len(predicted)} predictions')
  return np.array([exact_match.OUTCOMES.index(exact_match.outcome(g, p))
                   for g, p in zip(gold, predicted)], np.int8)


def f1_of_codes(codes: np.ndarray, axis: int = -1) -> np.ndarray:
  """Exact-match F1 from outcome codes: 2 VC / (NV + VN + 2 VC + 2 VW), the harmonic
  mean of precision and recall written over the counters."""
  count = {name: (codes == i).sum(axis) for i, name in enumerate(exact_match.OUTCOMES)}
  denominator = count['nv'] + count['vn'] + 2 * count['vc'] + 2 * count['vw']
  return np.where(denominator > 0, 2 * count['vc'] / np.maximum(denominator, 1), 0.0)


def paired_f1_difference(gold: Sequence, ours: Sequence, theirs: Sequence,
                         resamples: int = 2000, seed: int = 0) -> Dict[str, float]:
  """F1(ours) - F1(theirs) with its 95% BCa interval, in F1 points (0-100)."""
  return paired_f1_difference_of_codes(outcome_codes(gold, ours), outcome_codes(gold, theirs),
                                       resamples, seed)


def paired_f1_difference_of_codes(a: np.ndarray, b: np.ndarray, resamples: int = 2000,
                                  seed: int = 0, confidence_level: float = 0.95) -> Dict[str, float]:
  """The same from two runs' outcome codes on the same triples, in the same order."""
  if len(a) != len(b):
    raise ValueError(f'{len(a)} outcomes against {len(b)}: not the same triples')
  found = {'triples': len(a), 'resamples': resamples, 'level': confidence_level}
  if np.array_equal(a, b):   # every resample gives 0, and BCa is undefined there
    return {'difference': 0.0, 'low': 0.0, 'high': 0.0, **found}
  result = stats.bootstrap(
      (a, b), lambda x, y, axis=-1: f1_of_codes(x, axis) - f1_of_codes(y, axis),
      paired=True, vectorized=True, n_resamples=resamples, confidence_level=confidence_level,
      method='BCa', random_state=np.random.default_rng(seed))
  low, high = result.confidence_interval
  return {'difference': 100 * float(f1_of_codes(a) - f1_of_codes(b)), 'low': 100 * float(low),
          'high': 100 * float(high), **found}
