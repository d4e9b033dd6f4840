import numpy as np
import pytest
import tensorflow as tf

from model import aveqa, windows
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
  # The student's dropout makes it differ from the frozen teacher: a KL of exactly 0 would
  # mean no distillation was computed.
  assert history.history['dmlm_loss'][0] > 0
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
  # Without the head, the span losses also cover the no-answer row (its span is [CLS]).
  assert float(losses['qa_loss']) != pytest.approx(float(both['qa_loss']), rel=1e-6)


def test_qa_loss_ignores_no_answer_examples(ckpt):
  model = aveqa.build_model(ckpt, aveqa_config(alpha=0, beta=0.5))
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
  value_prob = (spans['span_prob'] * (1 - spans['no_answer_prob'])).numpy()
  model.config.value_threshold = float(value_prob.max()) * (1 + 1e-6)   # just above the best
  assert not model.predict_spans(batch)['has_value'].numpy().any()
  model.config.value_threshold = float(value_prob.max())                # exactly the best
  assert model.predict_spans(batch)['has_value'].numpy().tolist() == (value_prob == value_prob.max()).tolist()
  # The decision follows p(value) = p(span)(1 - p(no answer)): a threshold between two
  # rows' p(value) answers the one above and withholds the one below.
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


def test_an_attribute_not_trained_on_is_decided_by_the_unseen_rule(ckpt):
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
  np.testing.assert_array_equal(has_value[2:], 1 - spans['no_answer_prob'].numpy()[2:] >= 0.5)
  model.config.value_threshold = 0.0
  assert model.predict_spans(batch)['has_value'].numpy()[:2].all()
  # A tuned rule of its own (training/value_tuning.py): p(value) against its threshold,
  # whatever the value threshold of seen attributes.
  value_prob = spans['value_prob'].numpy()[2:]
  model.config.unseen_kind, model.config.unseen_threshold = 'value', float(value_prob.min())
  for value_threshold in (0.0, 1.01):
    model.config.value_threshold = value_threshold
    assert model.predict_spans(batch)['has_value'].numpy()[2:].all()
  model.config.unseen_threshold = float(value_prob.max()) * 1.001
  assert not model.predict_spans(batch)['has_value'].numpy()[2:].any()
  answer = 1 - spans['no_answer_prob'].numpy()[2:]
  model.config.unseen_kind, model.config.unseen_threshold = 'answer', float(answer.max())
  np.testing.assert_array_equal(model.predict_spans(batch)['has_value'].numpy()[2:], answer >= answer.max())


def test_the_end_loss_is_conditioned_on_the_gold_begin(ckpt):
  """Teacher forcing: L_QA's end term is the end distribution given the *gold* begin."""
  model = aveqa.build_model(ckpt, aveqa_config(alpha=0, beta=0.5, dropout=0.0))
  batch = _batch(ckpt)
  hidden = model.encode(batch)
  begins, ends = batch['begin_position'].numpy(), batch['end_position'].numpy()
  begin_ce = tf.nn.sparse_softmax_cross_entropy_with_logits(
      batch['begin_position'], tf.where(model.context_mask(batch), model.begin_logits(hidden), -1e9)).numpy()
  answered = batch['has_answer'].numpy() == 1

  def expected_qa_loss(condition_on):
    logits = model.end_logits(hidden, tf.constant(condition_on[:, None], tf.int32))[:, 0, :].numpy()
    positions = np.arange(logits.shape[1])
    allowed = model.context_mask(batch).numpy() & (positions[None, :] >= condition_on[:, None])
    log_probs = tf.nn.log_softmax(np.where(allowed, logits, -1e9), -1).numpy()
    end_ce = -log_probs[np.arange(len(ends)), ends]
    return ((begin_ce + end_ce) / 2)[answered].mean()

  loss = float(model.compute_losses(batch, training=False)['qa_loss'])
  assert loss == pytest.approx(expected_qa_loss(begins), rel=1e-5)
  assert loss != pytest.approx(expected_qa_loss(np.minimum(begins, 1)), rel=1e-3)   # another begin


def test_masking_rate_and_the_80_10_10_split(ckpt):
  config = aveqa_config()
  model = aveqa.build_model(ckpt, config)
  ids = ckpt.special_ids
  rng = np.random.default_rng(0)
  token_ids = rng.integers(max(ids.values()) + 1, ckpt.config['vocab_size'], (64, 200))   # no special
  token_ids[:, 0] = ids['cls']
  batch = {'token_ids': tf.constant(token_ids, tf.int32), 'padding_mask': tf.ones((64, 200), tf.int32),
           'segment_ids': tf.zeros((64, 200), tf.int32)}
  tf.random.set_seed(0)
  masked, chosen = (t.numpy() for t in model.mask_tokens(batch))
  maskable = chosen.size - 64                                     # all but [CLS]
  assert config.mask_rate == 0.15
  assert chosen.sum() / maskable == pytest.approx(0.15, abs=0.01)
  picked, original = masked[chosen], token_ids[chosen]
  as_mask = (picked == ids['mask']).mean()
  kept = (picked == original).mean()
  randomised = 1 - as_mask - kept
  assert as_mask == pytest.approx(0.8, abs=0.02)
  assert kept == pytest.approx(0.1, abs=0.02) and randomised == pytest.approx(0.1, abs=0.02)
  assert (masked[~chosen] == token_ids[~chosen]).all()


def test_distillation_softens_both_distributions_with_the_temperature(ckpt):
  assert aveqa_config().temperature == 2.0
  model = aveqa.build_model(ckpt, aveqa_config())
  hidden = model.encode(_batch(ckpt))
  noise = tf.random.stateless_normal(hidden.shape, seed=(3, 4))
  chosen = tf.ones(hidden.shape[:2], tf.bool)
  student, teacher = hidden + 0.5 * noise, hidden

  def kl(t):
    s = tf.nn.log_softmax(model.vocab_projection(tf.boolean_mask(student, chosen)) / t, -1)
    p = tf.nn.log_softmax(model.vocab_projection(tf.boolean_mask(teacher, chosen)) / t, -1)
    return float(tf.reduce_mean(tf.reduce_sum(tf.exp(p) * (p - s), -1)))

  assert float(model.distillation_loss(student, teacher, chosen)) == pytest.approx(kl(2.0), rel=1e-4)
  assert kl(2.0) != pytest.approx(kl(1.0), rel=1e-2)


def test_without_the_no_answer_loss_inference_ignores_the_untrained_head(ckpt):
  model = aveqa.build_model(ckpt, aveqa_config(alpha=0, beta=0))
  batch = _batch(ckpt)
  before = model.predict_spans(batch)
  kernel, bias = model.no_answer_dense.get_weights()
  model.no_answer_dense.set_weights([kernel + 5.0, bias - 3.0])   # a very different NA head
  after = model.predict_spans(batch)
  for key in ('begin', 'end', 'has_value', 'confidence'):
    np.testing.assert_array_equal(before[key].numpy(), after[key].numpy())


def test_mixed_bfloat16_training_with_every_loss_is_finite_and_serves_float32(ckpt):
  import keras
  from serving import export as serving_export
  keras.mixed_precision.set_global_policy('mixed_bfloat16')   # what TPUs (and Keras on CPU) run
  try:
    model = aveqa.build_model(ckpt, aveqa_config(alpha=0.5, beta=0.5))
    model.compile(optimizer='adam')
    history = model.fit(tf.data.Dataset.from_tensors(_batch(ckpt)).repeat(3), epochs=1, verbose=0)
  finally:
    keras.mixed_precision.set_global_policy('float32')
  assert all(np.isfinite(v[0]) and v[0] > 0 for v in history.history.values())
  reference = aveqa.build_model(ckpt, aveqa_config(alpha=0.5, beta=0.5))   # float32 layers
  reference.set_weights(model.get_weights())
  batch = _batch(ckpt)
  expected = reference.predict_spans(batch)['no_answer_prob'].numpy()
  mixed = model.predict_spans(batch)['no_answer_prob'].numpy()
  with serving_export.serving_precision(model, 'float32', None):   # how the float32 signature is traced
    served = model.predict_spans(batch)['no_answer_prob'].numpy()
  np.testing.assert_allclose(served, expected, atol=1e-5)
  assert not np.allclose(mixed, expected, atol=1e-5)   # bfloat16 compute: it does differ


def test_example_weights_scale_each_examples_share_of_every_loss(ckpt):
  """Weights 1, 1, 0, 0 give the losses of the first two examples alone; no weights, 1 each."""
  model = aveqa.build_model(ckpt, aveqa_config(alpha=0))
  batch = _batch(ckpt)
  losses = lambda features: {k: float(v) for k, v in model.compute_losses(features, training=False).items()}
  weighted = losses(dict(batch, example_weight=tf.constant([1.0, 1.0, 0.0, 0.0])))
  first_two = losses({k: v[:2] for k, v in batch.items()})
  assert weighted['qa_loss'] == pytest.approx(first_two['qa_loss'], rel=1e-5)
  assert weighted['na_loss'] == pytest.approx(first_two['na_loss'], rel=1e-5)
  assert losses(batch)['qa_loss'] == pytest.approx(losses(dict(batch, example_weight=tf.ones([4])))['qa_loss'])
  halved = losses(dict(batch, example_weight=tf.constant([0.5, 1.0, 1.0, 1.0])))
  assert halved['na_loss'] != pytest.approx(losses(batch)['na_loss'])
  # The distilled MLM: each masked token weighs as its example.
  distilling = aveqa.build_model(ckpt, aveqa_config())
  rng = np.random.default_rng(3)
  student, teacher = (tf.constant(rng.normal(size=(4, 12, distilling.encoder.hidden_dim)), tf.float32)
                      for _ in range(2))
  chosen = tf.constant(rng.random((4, 12)) < 0.3)
  weighted = distilling.distillation_loss(student, teacher, chosen, tf.constant([1.0, 1.0, 0.0, 0.0]))
  alone = distilling.distillation_loss(student[:2], teacher[:2], chosen[:2])
  assert float(weighted) == pytest.approx(float(alone), rel=1e-4)   # float32 sums in another order


def test_a_question_is_answered_by_its_best_window(ckpt):
  """predict_questions: a title that fits answers as predict_spans on its one sequence; a long
  one is read in windows, and its answer is the best window's, in title token indices."""
  model = aveqa.build_model(ckpt, aveqa_config(alpha=0, max_seq_length=12, window_overlap=2,
                                               max_attribute_tokens=2))
  rng = np.random.default_rng(1)
  vocab = ckpt.config['vocab_size']
  short, long = rng.integers(200, vocab, 5).tolist(), rng.integers(200, vocab, 20).tolist()
  attribute = [[150, 151], [150, 151]]
  answers = model.predict_questions(tf.ragged.constant([short, long], tf.int64),
                                    tf.ragged.constant(attribute, tf.int64))
  assert answers['windows'].numpy().tolist() == [1, 4]   # 7 title tokens a window, steps of 5

  question_windows = windows.split(tf.ragged.constant([short, long], tf.int64),
                                   tf.ragged.constant(attribute, tf.int64), model.layout)
  per_window = model.predict_spans(windows.model_inputs(question_windows))
  assert answers['begin'].numpy()[0] == per_window['begin'].numpy()[0] - 1
  rank = per_window['has_value'].numpy()[1:] * 2.0 + per_window['value_prob'].numpy()[1:]
  best = 1 + int(np.argmax(rank))
  first_token = question_windows.first_token.numpy()[best]
  assert answers['begin'].numpy()[1] == per_window['begin'].numpy()[best] - 1 + first_token
  assert answers['end'].numpy()[1] == per_window['end'].numpy()[best] - 1 + first_token
  for key in ('span_prob', 'no_answer_prob', 'confidence', 'has_value'):
    assert answers[key].numpy().tolist() == [per_window[key].numpy()[0], per_window[key].numpy()[best]]


def test_without_the_no_answer_head_a_question_without_a_value_is_the_span_at_cls(ckpt):
  """beta = 0 is SQuAD 2.0's BERT QA: a no-answer row trains begin = end = [CLS]."""
  from model import decoding
  model = aveqa.build_model(ckpt, aveqa_config(alpha=0, beta=0))
  batch = _batch(ckpt)   # row 2 has no answer (positions 0, 0)
  only_row_2 = dict(batch, example_weight=tf.constant([0.0, 0.0, 1.0, 0.0]))
  loss = float(model.compute_losses(only_row_2, training=False)['qa_loss'])
  context = model.context_mask(batch)
  begin_log_probs = decoding.masked_log_softmax(model.begin_logits(model.encode(batch)),
                                                context | model.cls_position(context))
  # The begin's cross-entropy at [CLS]; an end after a [CLS] begin can only be [CLS] (0).
  assert loss == pytest.approx(-float(begin_log_probs[2, 0]) / 2, rel=1e-5)
  with_head = aveqa.build_model(ckpt, aveqa_config(alpha=0, beta=0.5))
  with_head.set_weights(model.get_weights())
  assert float(with_head.compute_losses(only_row_2, training=False)['qa_loss']) == 0.0


def test_without_the_no_answer_head_the_null_answer_competes_with_the_best_span(ckpt, monkeypatch):
  model = aveqa.build_model(ckpt, aveqa_config(alpha=0, beta=0))
  batch = _batch(ckpt)
  logits = model.begin_logits(model.encode(batch))
  for cls_logit, has_value in ((30.0, False), (-30.0, True)):
    fixed = tf.concat([tf.fill([4, 1], cls_logit), logits[:, 1:]], 1)
    monkeypatch.setattr(model, 'begin_logits', lambda hidden, fixed=fixed: fixed)
    spans = model.predict_spans(batch)
    np.testing.assert_allclose(spans['value_prob'].numpy() + spans['no_answer_prob'].numpy(), 1, atol=1e-6)
    assert spans['has_value'].numpy().tolist() == [has_value] * 4


@pytest.fixture(scope='module')
def ckpt_with_head(tmp_path_factory):
  from model.checkpoint import read_checkpoint
  from tests import tiny_bert
  from tests.conftest import sample_titles
  return read_checkpoint(tiny_bert.make_checkpoint(
      str(tmp_path_factory.mktemp('tiny_bert_head')), texts=sample_titles() + ['brand name material color'],
      with_mlm_head=True))


@pytest.mark.parametrize('policy', ['mixed_bfloat16', 'mixed_float16'])
def test_mixed_precision_training_with_an_mlm_head_is_finite_and_serves_float32(ckpt_with_head, policy):
  """The GPU (float16) and TPU (bfloat16) policies, which Keras also runs on CPU, with the
  distilled MLM through the checkpoint's head: every loss finite, and the float32
  signature of the trained model answers as a float32 model with its weights."""
  import keras
  from serving import export as serving_export
  assert ckpt_with_head.mlm_head
  keras.mixed_precision.set_global_policy(policy)
  try:
    model = aveqa.build_model(ckpt_with_head, aveqa_config(alpha=0.5, beta=0.5))
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    history = model.fit(tf.data.Dataset.from_tensors(_batch(ckpt_with_head)).repeat(3), epochs=1, verbose=0)
  finally:
    keras.mixed_precision.set_global_policy('float32')
  assert all(np.isfinite(v[0]) for v in history.history.values()) and history.history['dmlm_loss'][0] > 0
  reference = aveqa.build_model(ckpt_with_head, aveqa_config(alpha=0.5, beta=0.5))
  reference.set_weights(model.get_weights())
  batch = _batch(ckpt_with_head)
  with serving_export.serving_precision(model, 'float32', None):
    served = model.predict_spans(batch)['no_answer_prob'].numpy()
  np.testing.assert_allclose(served, reference.predict_spans(batch)['no_answer_prob'].numpy(), atol=1e-5)
