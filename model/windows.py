"""Overlapping windows over long titles, as extractive QA reads long contexts (SQuAD's
doc_stride).

A question whose title does not fit max_seq_length beside its attribute is read as several
windows, each "[CLS] title tokens [SEP] attribute [SEP]", every window sharing `overlap`
title tokens with the next. A value of at most overlap + 1 tokens therefore lies whole in
at least one window. Each window is answered, and the question's answer is the window that
ranks highest: one that answers beats one that says "no value", then the more probable
value wins (best_window). So a question gets "no value" only when no window holds one, and
nothing of a long title goes unread.

Questions that fit (nearly all titles) are one window, the same sequence as before windows.
The same functions build the training examples (training/data.py) and the
serving graph (serving/export.py), so both read a title the same way.
"""
import dataclasses
from typing import NamedTuple

import tensorflow as tf
import tensorflow_text as tf_text


@dataclasses.dataclass(frozen=True)
class Layout:
  """How questions become model sequences."""
  max_seq_length: int   # tokens per window, [CLS] and both [SEP] included
  overlap: int          # title tokens a window shares with the next
  cls_id: int
  sep_id: int


class Windows(NamedTuple):
  token_ids: tf.RaggedTensor     # [N, (T)] "[CLS] title window [SEP] attribute [SEP]"
  segment_ids: tf.RaggedTensor   # [N, (T)] 0 up to the first [SEP], 1 after
  question: tf.Tensor            # [N] int64: the question (row of the batch) each window reads
  questions: tf.Tensor           # scalar int64: B, the number of questions
  first_token: tf.Tensor         # [N] int64: the title token at the window's position 1
  title_tokens: tf.Tensor        # [N] int64: how many title tokens the window holds


def longest_whole_value(overlap: int) -> int:
  """Values up to this many tokens always lie whole in some window."""
  return overlap + 1


def split(title_ids: tf.RaggedTensor, attribute_ids: tf.RaggedTensor, layout: Layout) -> Windows:
  """The windows of a batch of questions: title token ids [B, (L)], attribute ids [B, (A)]
  (A already capped, so that a window always has room for title tokens)."""
  title_ids = tf.cast(title_ids, tf.int64)
  attribute_ids = tf.cast(attribute_ids, tf.int64)
  lengths = title_ids.row_lengths()
  budget = tf.maximum(layout.max_seq_length - 3 - attribute_ids.row_lengths(), 1)
  step = tf.maximum(budget - layout.overlap, 1)
  count = 1 + tf.maximum(lengths - budget + step - 1, 0) // step   # 1 + ceil((L - budget) / step)
  question = tf.repeat(tf.range(tf.size(lengths, out_type=tf.int64)), count)
  first = tf.ragged.range(count).flat_values * tf.gather(step, question)
  stop = tf.minimum(first + tf.gather(budget, question), tf.gather(lengths, question))
  window_titles = _in_windows(title_ids, question, first, stop - first)
  token_ids, segment_ids = tf_text.combine_segments(
      [window_titles, tf.gather(attribute_ids, question)],
      start_of_sequence_id=layout.cls_id, end_of_segment_id=layout.sep_id)
  return Windows(token_ids, segment_ids, question, tf.size(lengths, out_type=tf.int64), first, stop - first)


def model_inputs(windows: Windows, fixed_length=None):
  """Dense encoder inputs [N, T], padded to the longest window, or to fixed_length where
  shapes must be static (TPU)."""
  shape = None if fixed_length is None else [None, fixed_length]
  token_ids = windows.token_ids.to_tensor(shape=shape)
  return {'token_ids': tf.cast(token_ids, tf.int32),
          'segment_ids': tf.cast(windows.segment_ids.to_tensor(shape=shape), tf.int32),
          'padding_mask': tf.cast(tf.ones_like(windows.token_ids).to_tensor(shape=shape), tf.int32)}


def span_labels(windows: Windows, title_ids: tf.RaggedTensor, continues_word: tf.RaggedTensor,
                value_first, value_last, aligned):
  """Training labels of each window from its question's value, given as the first and
  last title token of the value ([B] int64) where aligned [B] bool. A window holding that
  occurrence answers with it at sequence positions ([CLS] = 0). A window that does not,
  but states the value again (its tokens, not followed by the rest of a longer word:
  continues_word [B, (L)] marks WordPiece continuations), answers with its first such
  statement: a text that states the value is never taught to have none. Any other window,
  like a question without a value, answers "no value" (has_answer 0, positions 0)."""
  first = tf.gather(value_first, windows.question) - windows.first_token
  last = tf.gather(value_last, windows.question) - windows.first_token
  window_aligned = tf.gather(aligned, windows.question)
  inside = window_aligned & (first >= 0) & (last < windows.title_tokens)
  again = _first_statement(windows, title_ids, continues_word, value_first, value_last, aligned)
  length = tf.gather(value_last - value_first, windows.question)
  restated = window_aligned & ~inside & (again >= 0)
  zero = tf.zeros_like(first)
  return {'begin_position': tf.where(inside, first + 1, tf.where(restated, again + 1, zero)),
          'end_position': tf.where(inside, last + 1, tf.where(restated, again + length + 1, zero)),
          'has_answer': tf.cast(inside | restated, tf.int64)}


def _first_statement(windows: Windows, title_ids, continues_word, value_first, value_last, aligned):
  """[N] each window's first title token (window-relative) where its question's value
  tokens occur as whole words, -1 where they do not."""
  title_ids = tf.cast(title_ids, tf.int64)
  length = tf.where(aligned, value_last - value_first + 1, 0)
  value_start = tf.where(aligned, value_first, 0) + title_ids.row_starts()
  value = tf.gather(title_ids.flat_values, tf.ragged.range(value_start, value_start + length))
  longest = tf.maximum(tf.reduce_max(tf.concat([length, [0]], 0)), 1)
  window_value = _padded(tf.gather(value, windows.question), longest, -2)
  window_length = tf.gather(length, windows.question)
  starts = tf.reduce_max(tf.concat([windows.title_tokens, [0]], 0))   # candidate first tokens
  text = _window_tokens(windows, title_ids, starts + longest, -1)
  continues = _window_tokens(windows, continues_word, starts + longest, 0)
  # candidates[n, i, j]: window n's title token i + j against value token j.
  candidates = tf.signal.frame(text, tf.cast(longest, tf.int32), 1, axis=1)[:, :starts]
  needed = tf.range(longest)[tf.newaxis, tf.newaxis, :] < window_length[:, None, None]
  matches = tf.reduce_all(tf.equal(candidates, window_value[:, tf.newaxis, :]) | ~needed, -1)
  after = tf.range(starts)[tf.newaxis, :] + window_length[:, None]
  whole = tf.gather(continues, after, batch_dims=1) == 0
  found = matches & whole & (window_length[:, None] > 0)
  return tf.where(tf.reduce_any(found, -1), tf.argmax(tf.cast(found, tf.int32), -1), -1)


def _in_windows(per_title_token: tf.RaggedTensor, question, first_token, title_tokens) -> tf.RaggedTensor:
  """[N, (W)] a ragged [B, (L)] per-title-token feature, sliced as the windows read it."""
  positions = tf.ragged.range(first_token, first_token + title_tokens)
  return tf.gather(per_title_token.flat_values,
                   positions + tf.gather(per_title_token.row_starts(), question)[:, tf.newaxis])


def _window_tokens(windows: Windows, per_title_token: tf.RaggedTensor, width, padding):
  """[N, width] each window's title tokens of a ragged [B, (L)] feature, padded."""
  rows = _in_windows(tf.cast(per_title_token, tf.int64), windows.question, windows.first_token,
                     windows.title_tokens)
  return _padded(rows, width, padding)


def _padded(rows: tf.RaggedTensor, width, padding):
  """[N, width] rows (none longer than width), padded."""
  dense = rows.to_tensor(default_value=padding)
  return tf.pad(dense, [[0, 0], [0, width - tf.shape(dense, out_type=tf.int64)[1]]], constant_values=padding)


def best_window(windows: Windows, rank) -> tf.Tensor:
  """[B] the index of each question's highest-ranked window (the first one on ties)."""
  best = tf.math.unsorted_segment_max(rank, windows.question, windows.questions)
  index = tf.range(tf.size(windows.question, out_type=tf.int64))
  candidates = tf.where(rank >= tf.gather(best, windows.question), index, tf.int64.max)
  return tf.math.unsorted_segment_min(candidates, windows.question, windows.questions)


def question_answers(windows: Windows, spans):
  """Per question, the answer of its best window (model.predict_spans' outputs per window),
  with begin/end turned into title token indices (inclusive)."""
  # value_prob <= 1: a window with a value outranks every window without one.
  rank = tf.cast(spans['has_value'], tf.float32) * 2.0 + tf.cast(spans['value_prob'], tf.float32)
  chosen = best_window(windows, rank)
  answers = {k: tf.gather(v, chosen) for k, v in spans.items()}
  offset = tf.cast(tf.gather(windows.first_token, chosen), answers['begin'].dtype) - 1
  answers['begin'] = tf.maximum(answers['begin'] + offset, 0)
  answers['end'] = tf.maximum(answers['end'] + offset, 0)
  answers['windows'] = tf.math.unsorted_segment_sum(tf.ones_like(windows.question), windows.question,
                                                   windows.questions)
  return answers
