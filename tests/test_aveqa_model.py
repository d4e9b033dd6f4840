import numpy as np
import pytest
import tensorflow as tf

from model import aveqa
from model.checkpoint import read_checkpoint
from tests.model_settings import aveqa_config


def _batch(ckpt, batch=4, length=12):
  ids = ckpt.special_ids
  rng = np.random.default_rng(0)
  token_ids = rng.integers(100, ckpt.config['vocab_size'],
                           (batch, length))
  # [CLS] title(1..7) [SEP] attribute(9..10) [SEP] with the last row padded after 8.
  token_ids[:, 0], token_ids[:, 8], token_ids[:, 11] = ids['cls'], ids['sep'], ids['sep']
  segment_ids = np.zeros((batch, length), np.int32)
  segment_ids[:, 9:] = 1
  padding_mask = np.ones((batch, length), np.int32)
  padding_mask[-1, 9:] = 0
  token_ids[-1, 9:] = ids['pad']
  segment_ids[-1, 9:] = 0
  return {'token_ids': tf.constant(token_ids, tf.int32), 'segment_ids': tf.constant(segment_ids),
          'padding_mask': tf.constant(padding_mask),
          'begin_position': tf.constant([2, 3, 0, 1]), 'end_position': tf.constant([4, 3, 0, 2]),
          'has_answer': tf.constant([1, 1, 0, 1])}


@pytest.fixture(scope='module')
def ckpt(tiny_checkpoint_dir):
  return read_checkpoint(tiny_checkpoint_dir)


def test_shapes_of_every_head(ckpt):
  model = aveqa.build_model(ckpt, aveqa_config())
  batch = _batch(ckpt)
  out = model(batch)
  assert out['begin_logits'].shape == (4, 12)
  assert out['end_logits'].shape == (4, 12)
  assert out['no_answer_logits'].shape == (4, 2)
  hidden = model.encode(batch)
  assert model.end_logits(hidden, tf.constant([[1, 2, 3]] * 4)).shape == (4, 3, 12)
  spans = model.predict_spans(batch)
  for key in ('begin', 'end', 'span_prob', 'no_answer_prob', 'confidence', 'has_value'):
    assert spans[key].shape == (4,)


def test_end_logits_depend_on_the_begin_token(ckpt):
  model = aveqa.build_model(ckpt, aveqa_config(alpha=0))
  hidden = model.encode(_batch(ckpt))
  logits = model.end_logits(hidden, tf.constant([[1, 5]] * 4)).numpy()
  # Not just a constant shift: the end *distribution* changes with the begin.
  probs = tf.nn.softmax(logits, -1).numpy()
  assert np.abs(probs[:, 0] - probs[:, 1]).max() > 1e-4


def test_no_answer_head_reads_only_cls(ckpt):
  model = aveqa.build_model(ckpt, aveqa_config(alpha=0))
  hidden = model.encode(_batch(ckpt)).numpy()
  changed = hidden.copy()
  changed[:, 1:, :] += 1.0
  np.testing.assert_array_equal(model.no_answer_logits(tf.constant(hidden)).numpy(),
                                model.no_answer_logits(tf.constant(changed)).numpy())
  changed[:, 0, :] += 1.0
  assert not np.allclose(model.no_answer_logits(tf.constant(hidden)).numpy(),
                         model.no_answer_logits(tf.constant(changed)).numpy())


def test_teacher_is_frozen_during_training(ckpt):
  model = aveqa.build_model(ckpt, aveqa_config(alpha=0.5, beta=0.5))
  model.compile(optimizer='adam')
  before = [w.numpy().copy() for w in model.teacher.weights]
  student_before = [w.numpy().copy() for w in model.encoder.weights]
  projection_before = model.vocab_projection.embeddings.numpy().copy()
  data = tf.data.Dataset.from_tensors(_batch(ckpt)).repeat(3)
  history = model.fit(data, epochs=1, verbose=0)
  assert history.history['dmlm_loss'][0] >= 0
  for a, w in zip(before, model.teacher.weights):
    np.testing.assert_array_equal(a, w.numpy())
  np.testing.assert_array_equal(projection_before, model.vocab_projection.embeddings.numpy())
  assert any(not np.array_equal(a, w.numpy()) for a, w in zip(student_before, model.encoder.weights))
  assert all(not any(w is t for t in model.teacher.weights) for w in model.trainable_weights)


def test_distillation_loss_zero_for_identical_and_grows_with_divergence(ckpt):
  model = aveqa.build_model(ckpt, aveqa_config())
  hidden = model.encode(_batch(ckpt))
  chosen = tf.constant(np.random.default_rng(1).random(hidden.shape[:2]) < 0.5)
  assert float(model.distillation_loss(hidden, hidden, chosen)) == pytest.approx(0.0, abs=1e-6)
  noise = tf.random.stateless_normal(hidden.shape, seed=(1, 2))
  small = float(model.distillation_loss(hidden + 0.1 * noise, hidden, chosen))
  large = float(model.distillation_loss(hidden + 1.0 * noise, hidden, chosen))
  assert 0 < small < large


def test_masking_never_touches_special_or_padding(ckpt):
  model = aveqa.build_model(ckpt, aveqa_config(mask_rate=1.0))
  batch = _batch(ckpt)
  _, chosen = model.mask_tokens(batch)
  chosen = chosen.numpy()
  assert not chosen[:, 0].any() and not chosen[:, 8].any() and not chosen[:-1, 11].any()
  assert not chosen[-1, 9:].any()
  assert chosen[:, 1:8].all() and chosen[:-1, 9:11].all()   # attribute tokens are maskable


def test_alpha_beta_zero_is_plain_qa(ckpt):
  model = aveqa.build_model(ckpt, aveqa_config(alpha=0, beta=0))
  assert model.teacher is None and model.vocab_projection is None
  losses = model.compute_losses(_batch(ckpt), training=False)
  assert set(losses) == {'qa_loss', 'loss'}
  assert float(losses['loss']) == float(losses['qa_loss'])
  full = aveqa.build_model(ckpt, aveqa_config(alpha=0, beta=0.5))
  full.set_weights(model.get_weights())
  both = full.compute_losses(_batch(ckpt), training=False)
  assert float(both['loss']) == pytest.approx(float(both['qa_loss']) + 0.5 * float(both['na_loss']), rel=1e-6)
  assert float(both['qa_loss']) == pytest.approx(float(losses['qa_loss']), rel=1e-6)


def test_qa_loss_ignores_no_answer_examples(ckpt):
  model = aveqa.build_model(ckpt, aveqa_config(alpha=0, beta=0))
  batch = _batch(ckpt)
  moved = dict(batch, begin_position=tf.constant([2, 3, 5, 1]), end_position=tf.constant([4, 3, 6, 2]))
  a = float(model.compute_losses(batch, training=False)['qa_loss'])
  b = float(model.compute_losses(moved, training=False)['qa_loss'])   # row 2 has no answer
  assert a == pytest.approx(b, rel=1e-6)


def test_spans_stay_in_context_and_threshold_says_no_value(ckpt):
  model = aveqa.build_model(ckpt, aveqa_config(alpha=0))
  batch = _batch(ckpt)
  spans = model.predict_spans(batch)
  begin, end = spans['begin'].numpy(), spans['end'].numpy()
  assert ((1 <= begin) & (begin <= end) & (end <= 7)).all()
  assert ((spans['confidence'].numpy() >= 0) & (spans['confidence'].numpy() <= 1)).all()
  model.config.value_threshold = 1.01   # no p(value) reaches it
  assert not model.predict_spans(batch)['has_value'].numpy().any()
  # The decision follows p(value) = p(span)(1 - p(no answer)): a threshold between two
  # rows' p(value) answers the one above and withholds the one below.
  value_prob = (spans['span_prob'] * (1 - spans['no_answer_prob'])).numpy()
  model.config.value_threshold = float(np.median(value_prob))
  decided = model.predict_spans(batch)
  np.testing.assert_array_equal(decided['has_value'].numpy(), value_prob >= model.config.value_threshold)
  np.testing.assert_allclose(decided['confidence'].numpy(),
                             np.where(value_prob >= model.config.value_threshold, value_prob,
                                      spans['no_answer_prob'].numpy()), rtol=1e-6)


def test_weights_round_trip(ckpt, tmp_path):
  model = aveqa.build_model(ckpt, aveqa_config(alpha=0))
  batch = _batch(ckpt)
  expected = model(batch)['begin_logits'].numpy()
  path = str(tmp_path / 'aveqa.weights.h5')
  model.save_weights(path)
  other = aveqa.build_model(ckpt, aveqa_config(alpha=0))
  other.load_weights(path)
  np.testing.assert_allclose(other(batch)['begin_logits'].numpy(), expected, rtol=1e-6, atol=1e-6)


def test_an_attribute_not_trained_on_is_decided_by_the_no_answer_head(ckpt):
  model = aveqa.build_model(ckpt, aveqa_config(alpha=0))
  batch = _batch(ckpt)
  keys = model.attribute_keys(batch).numpy()
  # The key is the attribute's token ids (positions 9, 10); the padded last row has none.
  assert keys[0] == ' '.join(str(i) for i in batch['token_ids'].numpy()[0, 9:11]).encode()
  assert keys[3] == b''
  assert model.predict_spans(batch)['attribute_seen'].numpy().all()   # nothing remembered yet
  model.remember_attributes([keys[0], keys[1]])
  model.config.value_threshold = 1.01    # no seen attribute can reach it
  spans = model.predict_spans(batch)
  assert spans['attribute_seen'].numpy().tolist() == [True, True, False, False]
  has_value = spans['has_value'].numpy()
  assert not has_value[:2].any()
  np.testing.assert_array_equal(has_value[2:], spans['no_answer_prob'].numpy()[2:] < 0.5)
  model.config.value_threshold = 0.0
  assert model.predict_spans(batch)['has_value'].numpy()[:2].all()
