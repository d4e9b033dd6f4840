"""Span decoding: from begin/end scores to the best answer span, as pure TF ops.

Follows the usual n-best search (Hugging Face's utils_qa.py): only spans inside the
context, end >= begin, at most max_answer_tokens long. Because AVEQA's end
distribution is conditioned on the begin token, the search takes the top-k begin
positions and asks the model for one end distribution per candidate.
"""
import tensorflow as tf

NEG_INF = -1e9


def masked_log_softmax(logits, mask):
  """log_softmax over the last axis restricted to mask (float32, masked entries ~ -1e9)."""
  logits = tf.where(mask, tf.cast(logits, tf.float32), NEG_INF)
  return tf.nn.log_softmax(logits, axis=-1)


def end_mask(begins, context_mask, max_answer_tokens):
  """[B, k, T] positions allowed as the end of a span that begins at begins [B, k]."""
  positions = tf.range(tf.shape(context_mask)[1])[tf.newaxis, tf.newaxis, :]
  begins = tf.cast(begins, positions.dtype)[:, :, tf.newaxis]
  return ((positions >= begins) & (positions < begins + max_answer_tokens)
          & context_mask[:, tf.newaxis, :])


def best_spans(begin_logits, end_logits_fn, context_mask, top_k, max_answer_tokens):
  """The most probable span of each row.

  Args:
    begin_logits: [B, T] scores of each position as the first answer token.
    end_logits_fn: maps begin positions [B, k] to end scores [B, k, T].
    context_mask: [B, T] bool, True on context tokens (never [CLS]/[SEP]/question).
    top_k: number of begin candidates searched.
    max_answer_tokens: longest span considered.

  Returns:
    begin [B], end [B] (int32, inclusive) and log_prob [B] = log p(begin) + log p(end | begin).
    A row without any context token gets begin = end = 0 and log_prob ~ -1e9.
  """
  begin_log_probs = masked_log_softmax(begin_logits, context_mask)
  k = tf.minimum(top_k, tf.shape(begin_logits)[1])
  begin_scores, begins = tf.math.top_k(begin_log_probs, k=k)
  allowed = end_mask(begins, context_mask, max_answer_tokens)
  end_log_probs = masked_log_softmax(end_logits_fn(begins), allowed)
  scores = begin_scores[:, :, tf.newaxis] + tf.where(allowed, end_log_probs, NEG_INF)
  length = tf.shape(scores)[2]
  flat = tf.reshape(scores, [tf.shape(scores)[0], -1])
  best = tf.argmax(flat, axis=-1, output_type=tf.int32)
  log_prob = tf.reduce_max(flat, axis=-1)
  begin = tf.gather(begins, best // length, batch_dims=1)
  end = best % length
  has_context = tf.reduce_any(context_mask, axis=-1)
  zero = tf.zeros_like(end)
  return tf.where(has_context, begin, zero), tf.where(has_context, end, zero), log_prob
