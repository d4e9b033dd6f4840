"""BERT's token masking for masked-LM objectives: AVEQA's distilled MLM, the domain-adaptive
masked-LM step (model/masked_lm.py) and the teacher's measurement share it."""
import tensorflow as tf


def mask_tokens(ids, padding_mask, special_ids, mask_rate: float, vocab_size: int, seed=None):
  """Chooses ~mask_rate of the non-special, non-padding tokens; of those 80% become [MASK],
  10% a random token and 10% stay. Returns (masked ids, bool mask of chosen positions).

  seed: None draws from TensorFlow's global generator (training); a [2] int seed gives the
  same masking on every call (measurement)."""
  special = tf.zeros_like(ids, tf.bool)
  for name in ('cls', 'sep', 'pad'):
    special |= tf.equal(ids, tf.cast(special_ids[name], ids.dtype))
  maskable = tf.cast(padding_mask, tf.bool) & ~special
  shape = tf.shape(ids)
  if seed is None:
    draw, how = tf.random.uniform(shape), tf.random.uniform(shape)
    random_ids = tf.random.uniform(shape, 0, vocab_size, dtype=ids.dtype)
  else:
    seed = tf.convert_to_tensor(seed, tf.int64)
    draw = tf.random.stateless_uniform(shape, seed)
    how = tf.random.stateless_uniform(shape, seed + [0, 1])
    random_ids = tf.random.stateless_uniform(shape, seed + [0, 2], 0, vocab_size, dtype=ids.dtype)
  chosen = maskable & (draw < mask_rate)
  masked = tf.where(chosen & (how < 0.8), tf.cast(special_ids['mask'], ids.dtype), ids)
  masked = tf.where(chosen & (how >= 0.8) & (how < 0.9), random_ids, masked)
  return masked, chosen
