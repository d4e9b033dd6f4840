import numpy as np

from model import value_threshold as vt


def test_sweep_counts_by_hand():
  # Row 1: gold NULL, p(value) 0.7. Row 2: gold span 1:2, predicted 1:2, p(value) 0.4.
  # Row 3: gold span 3:3, predicted 4:4 (wrong), p(value) 0.9. Row 4: gold value not in title.
  rows = vt.sweep([0.7, 0.4, 0.9, 0.2], [(1, 1), (1, 2), (4, 4), (2, 2)],
                  [(0, 0), (1, 2), (3, 3), ('unmatchable', 2)], [False, True, True, True],
                  grid=(0.1, 0.3, 0.5, 0.8))
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


def test_unseen_attributes_keep_the_no_answer_heads_decision_at_every_threshold():
  score = vt.decision_score([0.9, 0.1, 0.9, 0.1], [0.05, 0.3, 0.7, 0.2], [True, True, False, False])
  rows = vt.sweep_values(score, ['a', 'b', 'c', 'd'], ['a', 'b', 'c', 'd'], grid=(0.05, 0.5, 0.95))
  # Row 3 (unseen, p(no answer) 0.7) never answers; row 4 (unseen, 0.2) always does;
  # seen rows answer when p(value) >= t.
  assert [r['vc'] for r in rows] == [3, 2, 1]
  assert [r['vn'] for r in rows] == [1, 2, 3]
