"""When to answer "no value": a threshold on the probability of the best value.

A value is returned only when its probability of being the answer,
  p(value) = p(span) * (1 - p(no answer)),
reaches the threshold t. Both heads vote: the no-answer head says whether the title holds
a value at all, the span probability whether the model found it. Exact match punishes a
wrong value twice (precision and recall: VW) and a withheld one once (recall: VN), so
withholding unsure spans pays, which p(no answer) alone cannot see.

Like SQuAD 2.0 systems tuning their null-score threshold on dev data, the Trainer holds
a slice of the training split out of training ("dev", never the eval split) and keeps
the t that maximises exact-match F1 there. The best span's text is compared with the gold
value as the gate compares them (model/exact_match.py: one equality), so another
occurrence of the value, or the value in another case, is right here as it is there.

t is only trusted on the attributes it was tuned on. On an attribute never seen in
training the span probability is low even when the span is right, so any in-domain t
withholds nearly everything (docs/model.md, "Attributes never trained on"). Those get a
rule of their own: a threshold on one of two scores (UNSEEN_SCORES), chosen like t but on
pseudo-unseen attributes, rare training attributes held out of training for it
(training/value_tuning.py), never on the eval split. Until tuned: the no-answer head
alone, a value when 1 - p(no answer) >= 0.5.
"""
import math
from typing import Dict, List, Sequence

import numpy as np
import tensorflow as tf

from model.exact_match import Counts

GRID = tuple(round(t, 2) for t in np.arange(0.05, 1.0, 0.05))


# What decides on an attribute never trained on: 'answer' = 1 - p(no answer), the no-answer
# head alone; 'value' = p(value), both heads, as on seen attributes but with its own threshold.
UNSEEN_SCORES = ('answer', 'value')
UNSEEN_SCORE_NAMES = {'answer': '1 - p(no answer)', 'value': 'p(value)'}   # for logs and reports
DEFAULT_UNSEEN_RULE = ('answer', 0.5)


def unseen_score(kind, value_prob, no_answer_prob):
  """The score an unseen attribute's threshold is compared with (UNSEEN_SCORES)."""
  if kind not in UNSEEN_SCORES:
    raise ValueError(f'unseen score must be one of {UNSEEN_SCORES}, got {kind!r}')
  return value_prob if kind == 'value' else 1.0 - no_answer_prob


def decision_score(value_prob, no_answer_prob, attribute_seen, unseen_kind=DEFAULT_UNSEEN_RULE[0],
                   unseen_threshold=DEFAULT_UNSEEN_RULE[1]):
  """What the value threshold is compared with: p(value) on a seen attribute; on an unseen
  one +inf or -inf, as its own rule (unseen_kind's score >= unseen_threshold) decides, so that
  no value threshold changes its answer. The one statement of the rule: the served model and
  every sweep use it (tensors or arrays in, a tensor out)."""
  value_prob = tf.cast(value_prob, tf.float32)
  no_answer_prob = tf.cast(no_answer_prob, tf.float32)
  unseen = tf.where(unseen_score(unseen_kind, value_prob, no_answer_prob) >= unseen_threshold,
                    math.inf, -math.inf)
  return tf.where(tf.cast(attribute_seen, tf.bool), value_prob, unseen)


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


def best_threshold(rows: List[Dict[str, float]], default: float = 0.5) -> float:
  """The threshold of highest F1; ties go to the one nearest the default."""
  return max(rows, key=lambda r: (round(r['f1'], 12), -abs(r['threshold'] - default)))['threshold']


def best_unseen_rule(value_prob, no_answer_prob, predicted, gold, grid=GRID):
  """The (kind, threshold) of UNSEEN_SCORES x grid with the highest exact-match F1 on
  questions of attributes the model was not trained on (predicted: the best span's text;
  gold: the value, None for no value); ties go to the default rule's kind, then to the
  threshold nearest 0.5. Returns (kind, threshold, {kind: sweep})."""
  value_prob, no_answer_prob = np.asarray(value_prob, float), np.asarray(no_answer_prob, float)
  sweeps = {kind: sweep_values(unseen_score(kind, value_prob, no_answer_prob), predicted, gold, grid)
            for kind in UNSEEN_SCORES}
  kind, threshold, _ = max(
      ((kind, row['threshold'], row['f1']) for kind, rows in sweeps.items() for row in rows),
      key=lambda c: (round(c[2], 12), c[0] == DEFAULT_UNSEEN_RULE[0],
                     -abs(c[1] - DEFAULT_UNSEEN_RULE[1])))
  return kind, threshold, sweeps
