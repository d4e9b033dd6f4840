"""Choosing the no-answer threshold on held-out training data.

The no-answer head's 0.5 is rarely the exact-match optimum: it is trained with weight
beta beside the QA loss, and the cost of a false value (NV) and of a missed one (VN)
differ. Like SQuAD 2.0 systems tuning their null-score threshold on dev data, the
Trainer holds a slice of the training split out of training ("dev", never the eval
split) and keeps the threshold that maximises exact-match F1 there. Spans are compared
by token positions, which on aligned training examples is the same as comparing text.
"""
from typing import Dict, List, Sequence

import numpy as np

from model.exact_match import Counts

GRID = tuple(round(t, 2) for t in np.arange(0.05, 1.0, 0.05))


def sweep_values(no_answer_prob: Sequence[float], predicted: Sequence, gold: Sequence,
                 grid=GRID) -> List[Dict[str, float]]:
  """Exact-match counts at each threshold t: the predicted value is kept when
  p(no answer) < t, else the answer is "no value". gold: None (or 'NULL') for no value."""
  rows = []
  for threshold in grid:
    counts = Counts()
    for p_na, g, v in zip(no_answer_prob, gold, predicted):
      counts.add(g, v if p_na < threshold else None)
    rows.append({'threshold': float(threshold), **counts.as_dict()})
  return rows


def sweep(no_answer_prob: Sequence[float], predicted_spans: Sequence, gold_spans: Sequence,
          has_answer: Sequence[bool], grid=GRID) -> List[Dict[str, float]]:
  """sweep_values on token spans (begin, end)."""
  gold = [f'{b}:{e}' if answer else None for (b, e), answer in zip(gold_spans, has_answer)]
  return sweep_values(no_answer_prob, [f'{b}:{e}' for b, e in predicted_spans], gold, grid)


def best_threshold(rows: List[Dict[str, float]], default: float = 0.5) -> float:
  """The threshold of highest F1; ties go to the one nearest the default."""
  return max(rows, key=lambda r: (round(r['f1'], 12), -abs(r['threshold'] - default)))['threshold']
