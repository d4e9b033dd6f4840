"""A linear-chain conditional random field: sequence scores, the log-partition (forward
algorithm) and Viterbi decoding, in TensorFlow.

Written here because no maintained CRF works with the pinned TensorFlow 2.21 / Keras 3:
tensorflow-addons (which had one) is end-of-life and does not install, and keras-hub has
none. Shapes: emissions [B, T, K] (a score per position and tag), tags [B, T] int,
mask [B, T] bool with the valid positions first (a prefix per row, at least one),
transitions [K, K] (from tag i to tag j), start and end [K].

  score(y) = start[y_1] + sum_t emissions[t, y_t] + sum_t transitions[y_t, y_t+1] + end[y_n]
  p(y | x) = exp(score(y) - log_partition)
"""
import tensorflow as tf


def sequence_score(emissions, tags, mask, transitions, start, end):
  """[B] score of the given tag sequences over their valid positions."""
  tags = tf.cast(tags, tf.int32)
  valid = tf.cast(mask, emissions.dtype)
  emitted = tf.reduce_sum(tf.gather(emissions, tags, batch_dims=2) * valid, -1)
  pairs = tf.stack([tags[:, :-1], tags[:, 1:]], -1)
  moved = tf.reduce_sum(tf.gather_nd(transitions, pairs) * valid[:, 1:], -1)
  last = tf.reduce_sum(tf.cast(mask, tf.int32), -1) - 1
  return (tf.gather(start, tags[:, 0]) + emitted + moved
          + tf.gather(end, tf.gather(tags, last, batch_dims=1)))


def log_partition(emissions, mask, transitions, start, end):
  """[B] log of the sum of exp(score) over every tag sequence (the forward algorithm)."""
  alpha = start + emissions[:, 0]                                       # [B, K]

  def step(alpha, inputs):
    emission, valid = inputs
    moved = tf.reduce_logsumexp(alpha[:, :, tf.newaxis] + transitions, 1) + emission
    return tf.where(valid[:, tf.newaxis], moved, alpha)   # past the end: carry it unchanged

  alpha = tf.foldl(step, (tf.transpose(emissions[:, 1:], [1, 0, 2]), tf.transpose(mask[:, 1:])),
                   initializer=alpha)
  return tf.reduce_logsumexp(alpha + end, -1)


def viterbi(emissions, mask, transitions, start, end):
  """The best tag sequence [B, T] (padding positions tagged 0) and its score [B]."""
  num_tags = tf.shape(emissions)[-1]
  first = start + emissions[:, 0]

  def step(carry, inputs):
    best, _ = carry
    emission, valid = inputs
    candidates = best[:, :, tf.newaxis] + transitions                  # [B, from, to]
    came_from = tf.argmax(candidates, 1, output_type=tf.int32)
    moved = tf.reduce_max(candidates, 1) + emission
    # Past the end a tag stays where it is, so backtracking passes through unchanged.
    keep = tf.broadcast_to(tf.range(num_tags)[tf.newaxis], tf.shape(came_from))
    return (tf.where(valid[:, tf.newaxis], moved, best),
            tf.where(valid[:, tf.newaxis], came_from, keep))

  best, pointers = tf.scan(
      step, (tf.transpose(emissions[:, 1:], [1, 0, 2]), tf.transpose(mask[:, 1:])),
      initializer=(first, tf.zeros_like(first, tf.int32)))
  final = tf.concat([first[tf.newaxis], best], 0)[-1] + end          # also when T = 1
  last_tag = tf.argmax(final, -1, output_type=tf.int32)

  def back(tag, pointer):
    return tf.gather(pointer, tag, batch_dims=1)

  earlier = tf.scan(back, pointers, initializer=last_tag, reverse=True)  # [T-1, B]: tag at t
  tags = tf.concat([tf.transpose(earlier), last_tag[:, tf.newaxis]], 1)
  return tf.where(mask, tags, 0), tf.reduce_max(final, -1)
