import numpy as np
import pytest

from model import value_threshold as vt


def test_sweep_counts_by_hand():
  # Row 1: gold NULL, p(value) 0.7. Row 2: gold "Rose Gold", the span "ROSE  gold" (the same
  # value: one equality), p(value) 0.4. Row 3: gold "Steel", span "Red" (wrong), p(value)
  # 0.9. Row 4: gold value not in the title, so no span can be it.
  rows = vt.sweep_values([0.7, 0.4, 0.9, 0.2], ['Red', 'ROSE  gold', 'Red', 'Kettle'],
                         [None, 'Rose Gold', 'Steel', 'Stainless Steel'], grid=(0.1, 0.3, 0.5, 0.8))
  by_t = {r['threshold']: r for r in rows}
  # t = 0.8: only row 3 gets a value (wrong); rows 2 and 4 are missed.
  assert (by_t[0.8]['nn'], by_t[0.8]['nv'], by_t[0.8]['vn'], by_t[0.8]['vc'], by_t[0.8]['vw']) == (1, 0, 2, 0, 1)
  # t = 0.3: rows 1-3 get values: NV, VC, VW; row 4 missed.
  assert (by_t[0.3]['nv'], by_t[0.3]['vn'], by_t[0.3]['vc'], by_t[0.3]['vw']) == (1, 1, 1, 1)
  assert abs(by_t[0.3]['f1'] - 1 / 3) < 1e-9
  # t = 0.1: row 4's value cannot match: VW.
  assert (by_t[0.1]['vc'], by_t[0.1]['vw'], by_t[0.1]['vn']) == (1, 2, 0)
  # p(value) exactly at the threshold is kept.
  assert vt.sweep_values([0.5], ['a'], ['a'], grid=(0.5,))[0]['vc'] == 1
  assert vt.best_threshold(rows) == 0.3


def test_value_probability_combines_both_heads():
  np.testing.assert_allclose(vt.value_probability(np.array([0.8, 1.0, 0.5]), np.array([0.5, 0.0, 1.0])),
                             [0.4, 1.0, 0.0])


def test_ties_go_to_the_threshold_nearest_the_default():
  rows = [{'threshold': t, 'f1': f} for t, f in ((0.1, 0.8), (0.45, 0.8), (0.9, 0.8), (0.6, 0.5))]
  assert vt.best_threshold(rows, default=0.5) == 0.45
  assert vt.best_threshold([{'threshold': t, 'f1': 0.0} for t in (0.2, 0.55)], 0.5) == 0.55


def test_unseen_attributes_keep_their_own_rules_decision_at_every_threshold():
  # Rows 3-4 unseen. Default rule (1 - p(no answer) >= 0.5): row 3 (p(no answer) 0.7) never
  # answers, row 4 (0.2) always does; seen rows answer when p(value) >= t.
  score = vt.decision_score([0.9, 0.1, 0.9, 0.1], [0.05, 0.3, 0.7, 0.2], [True, True, False, False])
  rows = vt.sweep_values(score, ['a', 'b', 'c', 'd'], ['a', 'b', 'c', 'd'], grid=(0.05, 0.5, 0.95))
  assert [r['vc'] for r in rows] == [3, 2, 1]
  assert [r['vn'] for r in rows] == [1, 2, 3]
  # p(value) >= 0.5 instead: row 3 (p(value) 0.9) answers, row 4 (0.1) does not.
  score = vt.decision_score([0.9, 0.1, 0.9, 0.1], [0.05, 0.3, 0.7, 0.2], [True, True, False, False],
                            'value', 0.5)
  assert np.isposinf(score[2]) and np.isneginf(score[3])
  # 1 - p(no answer) >= 0.9: neither (0.3, 0.8).
  score = vt.decision_score([0.9, 0.1, 0.9, 0.1], [0.05, 0.3, 0.7, 0.2], [True, True, False, False],
                            'answer', 0.9)
  assert np.isneginf(score[2]) and np.isneginf(score[3])
  np.testing.assert_allclose(score[:2], [0.9, 0.1])


def test_the_unseen_rule_is_the_best_kind_and_threshold_on_the_questions_given():
  # Four unseen questions; p(no answer) says nothing (always 0.4: every question answered
  # at any answer-threshold <= 0.6), p(value) separates right from wrong.
  value_prob, no_answer_prob = [0.8, 0.7, 0.2, 0.1], [0.4] * 4
  predicted = ['Red', 'steel', 'Kettle', 'Voltis']
  gold = ['Red', 'Steel', None, None]   # rows 3 and 4: "no value" is right
  kind, threshold, sweeps = vt.best_unseen_rule(value_prob, no_answer_prob, predicted, gold,
                                                grid=(0.3, 0.5, 0.9))
  assert (kind, threshold) == ('value', 0.5)   # 0.3 ties at F1 1.0; 0.5 is nearest the default
  assert max(r['f1'] for r in sweeps['answer']) < 1.0
  # When both kinds tie, the default rule's kind wins.
  kind, _, _ = vt.best_unseen_rule([0.9, 0.1], [0.1, 0.9], ['Red', 'Kettle'], ['Red', None], grid=(0.5,))
  assert kind == vt.DEFAULT_UNSEEN_RULE[0]
  with pytest.raises(ValueError, match='unseen score'):
    vt.unseen_score('span', 0.5, 0.5)
