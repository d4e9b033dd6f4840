"""Overlapping windows over long titles (model/windows.py): how a question becomes
sequences, which window holds a value, and which window answers."""

import numpy as np
import pytest
import tensorflow as tf

from model import windows

CLS, SEP = 101, 102


def _split(titles, attributes, max_seq_length, overlap):
  layout = windows.Layout(max_seq_length, overlap, CLS, SEP)
  return windows.split(tf.ragged.constant(titles, tf.int64), tf.ragged.constant(attributes, tf.int64),
                       layout)


def test_a_title_that_fits_is_one_window_laid_out_context_first():
  w = _split([[1, 2, 3]], [[7, 8]], max_seq_length=16, overlap=2)
  assert w.token_ids.to_list() == [[CLS, 1, 2, 3, SEP, 7, 8, SEP]]
  assert w.segment_ids.to_list() == [[0, 0, 0, 0, 0, 1, 1, 1]]
  assert w.question.numpy().tolist() == [0] and w.first_token.numpy().tolist() == [0]
  assert w.title_tokens.numpy().tolist() == [3] and int(w.questions) == 1


def test_a_long_title_is_read_in_overlapping_windows_that_cover_it():
  title = list(range(1, 11))   # 10 title tokens
  # 9 tokens per window - 3 special - 2 attribute = 4 title tokens, 1 shared: steps of 3.
  w = _split([title, [5]], [[7, 8], [7, 8]], max_seq_length=9, overlap=1)
  assert w.question.numpy().tolist() == [0, 0, 0, 1]
  assert w.first_token.numpy().tolist() == [0, 3, 6, 0]
  assert w.title_tokens.numpy().tolist() == [4, 4, 4, 1]
  assert w.token_ids.to_list()[:3] == [[CLS, 1, 2, 3, 4, SEP, 7, 8, SEP],
                                        [CLS, 4, 5, 6, 7, SEP, 7, 8, SEP],
                                        [CLS, 7, 8, 9, 10, SEP, 7, 8, SEP]]
  assert max(len(t) for t in w.token_ids.to_list()) <= 9


@pytest.mark.parametrize('length,max_seq_length,overlap,attribute', [
    (40, 16, 3, 2), (17, 12, 0, 1), (100, 32, 10, 5), (9, 9, 2, 3), (0, 8, 1, 1)])
def test_every_value_up_to_overlap_plus_one_tokens_lies_whole_in_a_window(length, max_seq_length,
                                                                          overlap, attribute):
  w = _split([list(range(1, length + 1))], [[7] * attribute], max_seq_length, overlap)
  covered = [(f, f + n) for f, n in zip(w.first_token.numpy(), w.title_tokens.numpy())]
  assert all(len(t) <= max_seq_length for t in w.token_ids.to_list())
  assert covered[-1][1] == length   # the last window reaches the title's end
  longest = windows.longest_whole_value(overlap)
  for first in range(length):
    for last in range(first, min(first + longest, length)):
      assert any(a <= first and last < b for a, b in covered), (first, last, covered)


def _labels(w, titles, first, last, continues=None):
  """span_labels of questions whose value is on title tokens first..last (-1: none)."""
  continues = continues or [[0] * len(t) for t in titles]
  return windows.span_labels(w, tf.ragged.constant(titles, tf.int64), tf.ragged.constant(continues, tf.int64),
                             tf.constant(first, tf.int64), tf.constant(last, tf.int64),
                             tf.constant([f >= 0 for f in first]))


def test_the_window_holding_the_value_labels_it_and_the_others_say_no_value():
  titles = [list(range(1, 11)), [1, 2, 3]]
  w = _split(titles, [[7, 8], [7, 8]], max_seq_length=9, overlap=1)
  # Question 0: value on title tokens 7..8 (window 2 only); question 1: no value.
  labels = _labels(w, titles, [7, -1], [8, -1])
  assert labels['has_answer'].numpy().tolist() == [0, 0, 1, 0]
  assert labels['begin_position'].numpy().tolist() == [0, 0, 2, 0]   # title token 7 = position 2 of window 2
  assert labels['end_position'].numpy().tolist() == [0, 0, 3, 0]
  # A value on the shared token 3 is labelled in both windows that hold it.
  both = _labels(w, titles, [3, -1], [3, -1])
  assert both['has_answer'].numpy().tolist() == [1, 1, 0, 0]
  assert both['begin_position'].numpy().tolist() == [4, 1, 0, 0]


def test_a_window_that_states_the_value_again_answers_with_it_not_no_value():
  # The value (tokens 5, 6) is title tokens 0..1 and again 6..7: windows cover 0..3, 3..6
  # and 6..9. Window 1 holds only part of the second statement, window 2 all of it.
  titles = [[5, 6, 1, 2, 3, 4, 5, 6, 9, 10]]
  w = _split(titles, [[7, 8]], max_seq_length=9, overlap=1)
  labels = _labels(w, titles, [0], [1])
  assert labels['has_answer'].numpy().tolist() == [1, 0, 1]
  assert labels['begin_position'].numpy().tolist() == [1, 0, 1]
  assert labels['end_position'].numpy().tolist() == [2, 0, 2]


def test_the_value_inside_a_longer_word_is_not_a_statement_of_it():
  # As above, but title token 8 continues the word of tokens 6..7 ("black" "##board").
  titles = [[5, 6, 1, 2, 3, 4, 5, 6, 9, 10]]
  w = _split(titles, [[7, 8]], max_seq_length=9, overlap=1)
  labels = _labels(w, titles, [0], [1], continues=[[0, 0, 0, 0, 0, 0, 0, 0, 1, 0]])
  assert labels['has_answer'].numpy().tolist() == [1, 0, 0]
  # A question without a value answers "no value" in every window, whatever its text.
  assert _labels(w, titles, [-1], [-1])['has_answer'].numpy().tolist() == [0, 0, 0]


def _spans(has_value, value_prob, begin, end):
  n = len(has_value)
  return {'has_value': tf.constant(has_value), 'value_prob': tf.constant(value_prob, tf.float32),
          'span_prob': tf.constant(value_prob, tf.float32), 'no_answer_prob': tf.zeros([n]),
          'confidence': tf.constant(value_prob, tf.float32),
          'begin': tf.constant(begin, tf.int32), 'end': tf.constant(end, tf.int32)}


def test_a_window_with_a_value_answers_over_more_probable_windows_without_one():
  w = _split([list(range(1, 11)), [1, 2, 3]], [[7, 8], [7, 8]], max_seq_length=9, overlap=1)
  answers = windows.question_answers(w, _spans([False, True, True, False], [0.9, 0.4, 0.6, 0.2],
                                               [1, 2, 1, 3], [1, 3, 2, 3]))
  assert answers['has_value'].numpy().tolist() == [True, False]
  assert answers['value_prob'].numpy().tolist() == pytest.approx([0.6, 0.2])
  # Window 2 starts at title token 6: its positions 1..2 are title tokens 6..7.
  assert answers['begin'].numpy().tolist() == [6, 2] and answers['end'].numpy().tolist() == [7, 2]
  assert answers['windows'].numpy().tolist() == [3, 1]


def test_without_a_value_in_any_window_the_most_probable_span_is_kept_and_no_value_said():
  w = _split([list(range(1, 11))], [[7, 8]], max_seq_length=9, overlap=1)
  answers = windows.question_answers(w, _spans([False] * 3, [0.1, 0.3, 0.2], [1, 4, 1], [1, 4, 1]))
  assert not answers['has_value'].numpy()[0]
  assert answers['begin'].numpy().tolist() == [6]   # window 1 (first token 3), position 4


def test_windows_work_inside_a_traced_function_on_any_batch():
  layout = windows.Layout(9, 1, CLS, SEP)
  split = tf.function(lambda t, a: windows.model_inputs(windows.split(t, a, layout))['token_ids'],
                      reduce_retracing=True)
  for titles in ([list(range(1, 11))], [[1], [], list(range(1, 30))]):
    ids = split(tf.ragged.constant(titles, tf.int64), tf.ragged.constant([[7]] * len(titles), tf.int64))
    assert ids.shape[1] <= 9
  padded = windows.model_inputs(_split([[1, 2]], [[7]], 9, 1), fixed_length=9)
  assert padded['token_ids'].shape == (1, 9) and padded['padding_mask'].numpy().sum() == 6
  assert np.all(padded['token_ids'].numpy()[0, 6:] == 0)
