from model import no_answer_threshold as nat


def test_sweep_counts_by_hand():
  # Row 1: gold NULL, p_na 0.3. Row 2: gold span 1:2, predicted 1:2, p_na 0.6.
  # Row 3: gold span 3:3, predicted 4:4 (wrong), p_na 0.1. Row 4: gold value not in title.
  rows = nat.sweep([0.3, 0.6, 0.1, 0.8], [(1, 1), (1, 2), (4, 4), (2, 2)],
                   [(0, 0), (1, 2), (3, 3), ('unmatchable', 2)], [False, True, True, True],
                   grid=(0.2, 0.5, 0.7, 0.9))
  by_t = {r['threshold']: r for r in rows}
  # t = 0.2: only row 3 gets a value (wrong); rows 2 and 4 are missed.
  assert (by_t[0.2]['nn'], by_t[0.2]['nv'], by_t[0.2]['vn'], by_t[0.2]['vc'], by_t[0.2]['vw']) == (1, 0, 2, 0, 1)
  # t = 0.7: rows 1-3 get values: NV, VC, VW; row 4 missed.
  assert (by_t[0.7]['nv'], by_t[0.7]['vn'], by_t[0.7]['vc'], by_t[0.7]['vw']) == (1, 1, 1, 1)
  assert abs(by_t[0.7]['f1'] - 1 / 3) < 1e-9
  # t = 0.9: row 4's value cannot match: VW.
  assert (by_t[0.9]['vc'], by_t[0.9]['vw'], by_t[0.9]['vn']) == (1, 2, 0)
  assert nat.best_threshold(rows) == 0.7


def test_ties_go_to_the_threshold_nearest_the_default():
  rows = [{'threshold': t, 'f1': f} for t, f in ((0.1, 0.8), (0.45, 0.8), (0.9, 0.8), (0.6, 0.5))]
  assert nat.best_threshold(rows, default=0.5) == 0.45
  assert nat.best_threshold([{'threshold': t, 'f1': 0.0} for t in (0.2, 0.55)], 0.5) == 0.55
