"""The CRF against brute force over every tag sequence, on small random cases."""
import itertools

import numpy as np
import pytest

from model import crf


def _case(seed, batch=4, length=5, tags=3):
  rng = np.random.default_rng(seed)
  lengths = rng.integers(1, length + 1, batch)
  lengths[0] = length   # one full row, one of length 1 where possible
  lengths[-1] = 1
  return (rng.normal(size=(batch, length, tags)).astype(np.float32),
          np.arange(length)[None, :] < lengths[:, None],
          rng.normal(size=(tags, tags)).astype(np.float32),
          rng.normal(size=tags).astype(np.float32), rng.normal(size=tags).astype(np.float32), lengths)


def _scores(emissions, transitions, start, end, n):
  """{tag sequence: score} over every sequence of n tags."""
  scores = {}
  for y in itertools.product(range(emissions.shape[-1]), repeat=n):
    scores[y] = (start[y[0]] + sum(emissions[t, y[t]] for t in range(n))
                 + sum(transitions[y[t], y[t + 1]] for t in range(n - 1)) + end[y[-1]])
  return scores


@pytest.mark.parametrize('seed', range(4))
def test_log_partition_and_viterbi_match_brute_force(seed):
  emissions, mask, transitions, start, end, lengths = _case(seed)
  log_z = crf.log_partition(emissions, mask, transitions, start, end).numpy()
  tags, best = crf.viterbi(emissions, mask, transitions, start, end)
  tags, best = tags.numpy(), best.numpy()
  for row, n in enumerate(lengths):
    scores = _scores(emissions[row], transitions, start, end, n)
    values = np.array(list(scores.values()))
    assert log_z[row] == pytest.approx(np.log(np.exp(values).sum()), abs=1e-4)
    argmax = max(scores, key=scores.get)
    assert tuple(tags[row, :n]) == argmax and best[row] == pytest.approx(scores[argmax], abs=1e-4)
    assert not tags[row, n:].any()   # padding is tagged 0


def test_sequence_score_reads_only_the_valid_positions():
  emissions, mask, transitions, start, end, lengths = _case(7)
  rng = np.random.default_rng(1)
  tags = rng.integers(0, 3, mask.shape)
  scores = crf.sequence_score(emissions, tags, mask, transitions, start, end).numpy()
  for row, n in enumerate(lengths):
    expected = _scores(emissions[row], transitions, start, end, n)[tuple(tags[row, :n])]
    assert scores[row] == pytest.approx(expected, abs=1e-4)


def test_probabilities_of_every_sequence_sum_to_one():
  emissions, _, transitions, start, end, _ = _case(3, batch=1, length=4)
  mask = np.ones((1, 4), bool)
  log_z = crf.log_partition(emissions, mask, transitions, start, end).numpy()[0]
  every = np.array(list(itertools.product(range(3), repeat=4)))
  scores = crf.sequence_score(np.repeat(emissions, len(every), 0), every, np.repeat(mask, len(every), 0),
                              transitions, start, end).numpy()
  assert np.exp(scores - log_z).sum() == pytest.approx(1.0, abs=1e-4)
