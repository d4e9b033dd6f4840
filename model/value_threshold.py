"""When to answer "no value": a threshold on the probability of the best value.

A value is returned only when its probability of being the answer,
  p(value) = p(span) * (1 - p(no answer)),
reaches the threshold t. Both heads vote: the no-answer head says whether the title holds
a value at all, the span probability whether the model found it. Exact match punishes a
wrong value twice (precision and recall: VW) and a withheld one once (recall: VN), so
withholding unsure spans pays, which p(no answer) alone cannot see.

Like SQuAD 2.0 systems tuning their null-score threshold on dev data, the Trainer holds
a slice of the training split out of training ("dev", never the eval split) and keeps
the t that maximises exact-match F1 there. Spans are compared by token positions, which
on aligned training examples is the same as comparing text.
"""
from typing import Dict, List, Sequence

import numpy as np

from model.exact_match import Counts

GRID = tuple(round(t, 2) for t in np.arange(0.05, 1.0, 0.05))


def value_probability(span_prob, no_answer_prob):
  """p(value) = p(span) * (1 - p(no answer)); works on numpy arrays and TF tensors."""
  return span_prob * (1.0 - no_answer_prob)


def sweep_values(value_prob: Sequence[float], predicted: Sequence, gold: Sequence,
                 grid=GRID) -> List[Dict[str, float]]:
  """Exact-match counts at each threshold t: the predicted value is kept when
  p(value) >= t, else the answer is "no value". gold: None (or 'NULL') for no value."""
  rows = []
  for threshold in grid:
    counts = Counts()
    for p_value, g, v in zip(value_prob, gold, predicted):
      counts.add(g, v if p_value >= threshold else None)
    rows.append({'threshold': float(threshold), **counts.as_dict()})
  return rows


def sweep(value_prob: Sequence[float], predicted_spans: Sequence, gold_spans: Sequence,
          has_answer: Sequence[bool], grid=GRID) -> List[Dict[str, float]]:
  """sweep_values on token spans (begin, end)."""
  gold = [f'{b}:{e}' if answer else None for (b, e), answer in zip(gold_spans, has_answer)]
  return sweep_values(value_prob, [f'{b}:{e}' for b, e in predicted_spans], gold, grid)


def best_threshold(rows: List[Dict[str, float]], default: float = 0.5) -> float:
  """The threshold of highest F1; ties go to the one nearest the default."""
  return max(rows, key=lambda r: (round(r['f1'], 12), -abs(r['threshold'] - default)))['threshold']
