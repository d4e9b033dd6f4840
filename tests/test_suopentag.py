"""SUOpenTag (model/suopentag.py): BIO decoding, the tagger's constraints, and that it learns."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from model import suopentag
from model.suopentag import B, I, O
from tests.test_aveqa_model import _batch


@pytest.mark.parametrize('tags, expected', [
    ([O, O, O, O], None),
    ([O, B, I, I, O], (1, 3)),
    ([I, I, O, O, O], (0, 1)),          # I at the start opens a chunk
    ([O, I, I, O, B], (1, 2)),          # I without B opens a chunk; the first of two chunks
    ([B, B, I, O, O], (0, 0)),          # B after B: two chunks, the first of one token
    ([O, O, O, B, I], (3, 4)),          # a chunk running to the end
    ([B, O, I, I, O], (0, 0)),
    ([O, O, O, O, I], (4, 4)),
])
def test_the_answer_is_the_first_chunk_of_the_tagging(tags, expected):
  found, first, last = suopentag.first_chunk(tf.constant([tags]))
  assert bool(found[0]) == (expected is not None)
  if expected is not None:
    assert (int(first[0]), int(last[0])) == expected


def test_span_labels_become_bio_tags_and_back():
  tags = suopentag.bio_tags(tf.constant([1, 0, 3, 0]), tf.constant([3, 0, 3, 0]),
                            tf.constant([1, 1, 1, 0]), 5).numpy()
  assert tags.tolist() == [[O, B, I, I, O], [B, O, O, O, O], [O, O, O, B, O], [O, O, O, O, O]]
  found, first, last = suopentag.first_chunk(tf.constant(tags))
  assert found.numpy().tolist() == [True, True, True, False]
  assert list(zip(first.numpy()[:3], last.numpy()[:3])) == [(1, 3), (0, 0), (3, 3)]


def _config(**overrides):
  return suopentag.SuOpenTagConfig(**{'units': 8, 'dropout': 0.0, 'value_threshold': 0.5,
                                      'max_seq_length': 12, 'window_overlap': 2, **overrides})


def test_only_title_tokens_can_be_tagged_and_the_attribute_is_read(ckpt):
  model = suopentag.build_model(ckpt, _config())
  batch = _batch(ckpt)
  emissions = model.emissions(batch).numpy()          # positions 1..11
  assert emissions.shape == (4, 11, 3)
  title = model.context_mask(batch).numpy()[:, 1:]
  assert (emissions[~title][:, [B, I]] == suopentag.FORBIDDEN).all()
  assert (emissions[title] > suopentag.FORBIDDEN).all()
  # The same title with another attribute gets other tag scores.
  other = dict(batch, token_ids=tf.tensor_scatter_nd_update(
      batch['token_ids'], [[0, 9], [0, 10]], [5, 6]))
  assert np.abs(model.emissions(other).numpy()[0] - emissions[0]).max() > 1e-6
  # And the word embeddings start as the checkpoint's.
  from model.checkpoint import word_embeddings
  np.testing.assert_array_equal(model.embedding.embeddings.numpy(), word_embeddings(ckpt))


def test_it_learns_spans_and_no_value_with_probabilities_read_as_aveqa_s(ckpt):
  keras.utils.set_random_seed(0)
  model = suopentag.build_model(ckpt, _config())
  model.compile(optimizer=keras.optimizers.Adam(0.02))
  batch = _batch(ckpt)
  first = float(model.compute_losses(batch, training=False)['loss'])
  for _ in range(60):
    model.train_step(batch)
  assert float(model.compute_losses(batch, training=False)['loss']) < first / 10
  spans = model.predict_spans(batch)
  # Gold: (2, 4), (3, 3), no value, (1, 2) in sequence positions.
  assert spans['has_value'].numpy().tolist() == [True, True, False, True]
  for row, (b, e) in ((0, (2, 4)), (1, (3, 3)), (3, (1, 2))):
    assert (int(spans['begin'][row]), int(spans['end'][row])) == (b, e)
  no_answer = spans['no_answer_prob'].numpy()
  assert no_answer[2] > 0.5 > no_answer[[0, 1, 3]].max()
  np.testing.assert_allclose(spans['value_prob'].numpy()[[0, 1, 3]], 1 - no_answer[[0, 1, 3]], rtol=1e-5)
  assert spans['value_prob'].numpy()[2] == 0.0   # no chunk in the Viterbi tagging: no value at any threshold
  model.config.value_threshold = 0.0
  assert not bool(model.predict_spans(batch)['has_value'][2])


def test_no_answer_prob_is_the_crf_probability_of_tagging_every_token_o(ckpt):
  model = suopentag.build_model(ckpt, _config())
  batch = _batch(ckpt)
  emissions, mask = model.emissions(batch).numpy(), model.title_mask(batch).numpy()
  transitions, start, end = (v.numpy() for v in model.crf_parameters())
  import itertools
  row, n = 0, int(mask[0].sum())
  scores = {y: start[y[0]] + sum(emissions[row, t, y[t]] for t in range(n))
            + sum(transitions[y[t], y[t + 1]] for t in range(n - 1)) + end[y[-1]]
            for y in itertools.product(range(3), repeat=n)}
  z = np.log(np.exp(np.array(list(scores.values()), np.float64)).sum())
  expected = np.exp(scores[(O,) * n] - z)
  assert float(model.predict_spans(batch)['no_answer_prob'][row]) == pytest.approx(expected, rel=1e-4)
