"""Domain-adaptive masked-LM training and the teacher's measure (model/masked_lm.py)."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from model import checkpoint as checkpoints
from model import masked_lm
from model.aveqa import VocabularyProjection
from model.masking import mask_tokens
from tests import tiny_bert
from tests.conftest import sample_titles


def _token_ids(ckpt, texts):
  from model.features import tokenizer_for
  return tokenizer_for(ckpt).tokenize(tf.constant(texts)).to_list()


def test_a_seeded_masking_is_the_same_on_every_call_and_differs_by_seed():
  ids = tf.constant(np.arange(5, 405).reshape(4, 100), tf.int32)
  special = {'cls': 0, 'sep': 1, 'pad': 2, 'mask': 3}
  first = mask_tokens(ids, tf.ones_like(ids), special, 0.15, 500, seed=[7, 0])
  again = mask_tokens(ids, tf.ones_like(ids), special, 0.15, 500, seed=[7, 0])
  other = mask_tokens(ids, tf.ones_like(ids), special, 0.15, 500, seed=[7, 1])
  assert np.array_equal(first[0], again[0]) and np.array_equal(first[1], again[1])
  assert not np.array_equal(first[1], other[1])
  assert 0.08 < float(tf.reduce_mean(tf.cast(first[1], tf.float32))) < 0.22


@pytest.mark.parametrize('with_head', [False, True])
def test_the_adapted_checkpoint_is_read_back_exactly_head_included(tmp_path, with_head):
  source = checkpoints.read_checkpoint(tiny_bert.make_checkpoint(
      str(tmp_path / 'source'), texts=sample_titles(), with_mlm_head=with_head))
  model = masked_lm.build(source, mask_rate=0.15, dropout=0.1)
  masked_lm.adapt(model, _token_ids(source, sample_titles()), steps=2, batch_size=8, max_length=32,
                  learning_rate=1e-3, seed=0)
  masked_lm.save(model, source, str(tmp_path / 'adapted'))

  adapted = checkpoints.read_checkpoint(str(tmp_path / 'adapted'))
  assert adapted.mlm_head and adapted.vocab == source.vocab and adapted.pooler == source.pooler
  reloaded = checkpoints.load_encoder(adapted, dropout=0.0)
  assert len(reloaded.weights) == len(model.encoder.weights)
  for loaded, trained in zip(reloaded.weights, model.encoder.weights):   # same architecture, same order
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(loaded), keras.ops.convert_to_numpy(trained))
  head = checkpoints.mlm_head_weights(adapted)
  kernel, bias = model.head.dense.get_weights()
  np.testing.assert_array_equal(head['dense_kernel'], kernel)
  np.testing.assert_array_equal(head['output_bias'], keras.ops.convert_to_numpy(model.head.bias))
  # Training moved the weights: the file is the adapted model, not a copy of the source.
  original = checkpoints.load_encoder(source, dropout=0.0)
  assert not np.array_equal(keras.ops.convert_to_numpy(original.token_embedding.embeddings),
                            keras.ops.convert_to_numpy(reloaded.token_embedding.embeddings))


def test_adapting_learns_the_texts_and_the_measure_sees_it(tmp_path, tiny_checkpoint_dir):
  source = checkpoints.read_checkpoint(tiny_checkpoint_dir)
  texts = sample_titles()
  ids = _token_ids(source, texts)
  encoder = checkpoints.load_encoder(source, dropout=0.0)
  tied = VocabularyProjection(keras.ops.convert_to_numpy(encoder.token_embedding.embeddings))
  before = masked_lm.measure(encoder, tied, ids, source.special_ids, 0.15, 32, seed=3)
  assert before == masked_lm.measure(encoder, tied, ids, source.special_ids, 0.15, 32, seed=3)

  model = masked_lm.build(source, mask_rate=0.15, dropout=0.1)
  losses = masked_lm.adapt(model, ids, steps=200, batch_size=16, max_length=32, learning_rate=2e-3, seed=0)
  masked_lm.save(model, source, str(tmp_path / 'adapted'))
  adapted = checkpoints.read_checkpoint(str(tmp_path / 'adapted'))
  teacher = checkpoints.load_encoder(adapted, dropout=0.0)
  projection = VocabularyProjection(keras.ops.convert_to_numpy(teacher.token_embedding.embeddings),
                                    checkpoints.mlm_head_weights(adapted))
  after = masked_lm.measure(teacher, projection, ids, source.special_ids, 0.15, 32, seed=3)

  assert losses[-1] < losses[0]
  assert after['masked_tokens'] == before['masked_tokens']   # the same masks for both teachers
  # A random tiny encoder with its tied embeddings mostly predicts the token it is given
  # (right on the 10% kept), so top-1 barely moves; the distribution over the rest does.
  assert after['top5_accuracy'] > before['top5_accuracy'] + 0.05
  assert after['top5_accuracy'] >= after['top1_accuracy']
  assert 1.0 <= after['perplexity'] < before['perplexity'] / 2


def test_no_text_is_a_clear_error(tiny_checkpoint_dir):
  source = checkpoints.read_checkpoint(tiny_checkpoint_dir)
  with pytest.raises(ValueError, match='no text'):
    masked_lm.adapt(masked_lm.build(source, 0.15, 0.1), [[]], steps=1, batch_size=2, max_length=8,
                    learning_rate=1e-3, seed=0)
