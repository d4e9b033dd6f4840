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

t is only trusted on the attributes it was tuned on. On an attribute never seen in
training the span probability is low even when the span is right, so any in-domain t
withholds nearly everything (docs/model.md, "Attributes never trained on"). For those the
no-answer head decides alone, as trained: a value when p(no answer) < 0.5.
"""
import math
from typing import Dict, List, Sequence

import numpy as np
import tensorflow as tf

from model.exact_match import Counts

GRID = tuple(round(t, 2) for t in np.arange(0.05, 1.0, 0.05))


UNSEEN_NO_ANSWER_CUTOFF = 0.5


def decision_score(value_prob, no_answer_prob, attribute_seen):
  """What the threshold is compared with: p(value) on a seen attribute; +inf or -inf on an
  unseen one, per the no-answer head, so that no t changes its answer. The one statement
  of the rule: the served model and every sweep use it (tensors or arrays in, a tensor out)."""
  no_answer_prob = tf.cast(no_answer_prob, tf.float32)
  unseen = tf.where(no_answer_prob < UNSEEN_NO_ANSWER_CUTOFF, math.inf, -math.inf)
  return tf.where(tf.cast(attribute_seen, tf.bool), tf.cast(value_prob, tf.float32), unseen)


def value_probability(span_prob, no_answer_prob):
  """p(value) = p(span) * (1 - p(no answer)); works on numpy arrays and TF tensors."""
  return span_prob * (1.0 - no_answer_prob)


def sweep_values(score: Sequence[float], predicted: Sequence, gold: Sequence,
                 grid=GRID) -> List[Dict[str, float]]:
  """Exact-match counts at each threshold t: the predicted value is kept when
  score (p(value), or decision_score) >= t, else the answer is "no value".
  gold: None (or 'NULL') for no value."""
  score = np.asarray(score, float)
  rows = []
  for threshold in grid:
    counts = Counts()
    for p_value, g, v in zip(score, gold, predicted):
      counts.add(g, v if p_value >= threshold else None)
    rows.append({'threshold': float(threshold), **counts.as_dict()})
  return rows


def sweep(score: Sequence[float], predicted_spans: Sequence, gold_spans: Sequence,
          has_answer: Sequence[bool], grid=GRID) -> List[Dict[str, float]]:
  """sweep_values on token spans (begin, end)."""
  gold = [f'{b}:{e}' if answer else None for (b, e), answer in zip(gold_spans, has_answer)]
  return sweep_values(score, [f'{b}:{e}' for b, e in predicted_spans], gold, grid)


def best_threshold(rows: List[Dict[str, float]], default: float = 0.5) -> float:
  """The threshold of highest F1; ties go to the one nearest the default."""
  return max(rows, key=lambda r: (round(r['f1'], 12), -abs(r['threshold'] - default)))['threshold']
