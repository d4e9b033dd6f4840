"""Which rare training attributes are held out as pseudo-unseen (training/value_tuning.py)."""
from training import value_tuning as vtune


def _counts():
  # 3 frequent attributes and 200 rare ones (5 questions each): 1,000 rare questions in 31,000.
  counts = {f'{i} {i + 1}': 10000 for i in range(3)}
  counts.update({f'9{i}': 5 for i in range(200)})
  return counts


def test_only_rare_attributes_are_drawn_by_a_seeded_hash():
  counts = _counts()
  keys, why = vtune.choose_pseudo_unseen(counts, 0.2, 100, seed=0)
  assert keys and all(counts[k] <= 100 for k in keys)
  assert 20 <= len(keys) <= 60                      # about a fifth of the 200 rare ones
  assert f'{len(keys)} of 203 attributes' in why
  assert vtune.choose_pseudo_unseen(counts, 0.2, 100, seed=0)[0] == keys   # same seed, same draw
  assert vtune.choose_pseudo_unseen(counts, 0.2, 100, seed=1)[0] != keys
  # A larger fraction draws a superset: the hash bucket of each key does not move.
  assert keys <= vtune.choose_pseudo_unseen(counts, 0.4, 100, seed=0)[0]


def test_no_hold_out_when_off_too_small_or_too_costly():
  counts = _counts()
  assert vtune.choose_pseudo_unseen(counts, 0.0, 100, 0) == (set(), 'no pseudo-unseen attributes '
                                                              '(--pseudo-unseen-fraction 0)')
  # Only 5 rare questions qualify at max_questions 4: none do.
  keys, why = vtune.choose_pseudo_unseen(counts, 1.0, 4, 0)
  assert keys == set() and 'fewer than 50' in why
  # Every rare attribute (1,000 questions) is more than 5% of a 6,000-question split.
  small = dict(_counts(), **{f'{i} {i + 1}': 1666 for i in range(3)})
  keys, why = vtune.choose_pseudo_unseen(small, 1.0, 100, 0)
  assert keys == set() and 'more than 5%' in why
  # The sample's five attributes (about 170 questions each) are never held out.
  sample = {str(i): 135 for i in range(5)}
  assert vtune.choose_pseudo_unseen(sample, 0.1, 100, 0)[0] == set()
