"""The model's features: WordPiece tokenization and span labels, in one TF graph (transform).

The same graph is applied by Transform to the training triples (components/preprocessing.py)
and, inside the exported SavedModel, to every raw (title, attribute) question at serving
time, so tokenization cannot drift between training and inference.

Outputs are the question's parts, whole: the title's tokens (with their byte offsets) and
the attribute's first max_attribute_tokens tokens. The model reads them as
"[CLS] title [SEP] attribute [SEP]" (AVEQA's Figure 2, context first), and a title too long
for max_seq_length in overlapping windows of it (model/windows.py), so no title is cut.

Labels are the first and last title token of the value: its byte span in the title is
found in ExampleGen (catalog/span_alignment.py) and mapped here to the title tokens
that overlap it.
"""
import tensorflow as tf
import tensorflow_text as tf_text

from model.checkpoint import read_checkpoint
from model.windows import longest_whole_value
from model.config import ModelConfig

# Raw features.
TITLE, ATTRIBUTE, VALUE = 'title', 'attribute', 'value'
VALUE_START, VALUE_END, WEIGHT, SOURCE = 'value_start', 'value_end', 'weight', 'source'
LABEL_FEATURES = (VALUE, VALUE_START, VALUE_END, WEIGHT, SOURCE)
NULL_VALUE = b'NULL'

# Transformed features.
TITLE_TOKEN_IDS, ATTRIBUTE_TOKEN_IDS = 'title_token_ids', 'attribute_token_ids'
TITLE_TOKEN_STARTS, TITLE_TOKEN_ENDS = 'title_token_starts', 'title_token_ends'
VALUE_FIRST_TOKEN, VALUE_LAST_TOKEN = 'value_first_token', 'value_last_token'
# 1 where a title token is a WordPiece continuation (the rest of a longer word): a value's
# tokens followed by one are not a statement of the value (model/windows.py span_labels).
TITLE_TOKEN_CONTINUES_WORD = 'title_token_continues_word'
SPAN_STATUS, EXAMPLE_WEIGHT, EXAMPLE_SOURCE = 'span_status', 'example_weight', 'example_source'
# The raw title and value of a training example, passed through: the value threshold's
# tuning compares the best span's text with the value as the gate does.
TITLE_TEXT, VALUE_TEXT = 'title_text', 'value_text'

# span_status values: why an example does or does not have a trainable span.
ALIGNED, NULL, NOT_FOUND, TOO_LONG = 0, 1, 2, 3
SPAN_STATUS_NAMES = {ALIGNED: 'aligned', NULL: 'null (no value)',
                     NOT_FOUND: 'value not found in title',
                     TOO_LONG: 'value longer than window_overlap + 1 tokens'}


def _flat(tensor):
  """[B] dense tensor from a dense [B] / [B, 1] or a sparse [B, 1] feature."""
  if isinstance(tensor, tf.SparseTensor):
    default = '' if tensor.dtype == tf.string else -1
    tensor = tf.sparse.to_dense(tensor, default_value=default)
  return tf.reshape(tensor, [-1])


def tokenizer_for(checkpoint):
  return tf_text.FastBertTokenizer(vocab=checkpoint.vocab, token_out_type=tf.int64,
                                   lower_case_nfd_strip_accents=checkpoint.lower_case)


def tokenize_questions(title, attribute, checkpoint, max_attribute_tokens):
  """Title token ids with their byte offsets, and the attribute's capped token ids, all
  ragged [B, (T)]."""
  tokenizer = tokenizer_for(checkpoint)
  title_ids, starts, ends = tokenizer.tokenize_with_offsets(title)
  attribute_ids = tokenizer.tokenize(attribute)[:, :max_attribute_tokens]
  return title_ids, attribute_ids, starts, ends


def continues_word(title_ids, checkpoint):
  """[B, (T)] int64: 1 where a token id is a WordPiece continuation ("##..."), else 0."""
  continuation = tf.constant([int(token.startswith('##')) for token in checkpoint.vocab], tf.int64)
  return tf.ragged.map_flat_values(tf.gather, continuation, title_ids)


def span_labels(value, value_start, value_end, starts, ends, longest_value):
  """The value's first and last title token (-1 when there is none) and span_status.
  A value of more than longest_value tokens may lie whole in no window: not trained on."""
  starts_dense = starts.to_tensor(default_value=tf.int64.max)
  ends_dense = ends.to_tensor(default_value=-1)
  count = tf.cast(starts.row_lengths(), tf.int64)
  # Offsets grow along the title, so "ends after the value starts" holds on a suffix of
  # the tokens and "starts before the value ends" on a prefix.
  first = count - tf.reduce_sum(tf.cast(ends_dense > value_start[:, None], tf.int64), -1)
  last = tf.reduce_sum(tf.cast(starts_dense < value_end[:, None], tf.int64), -1) - 1
  is_null = tf.equal(value, NULL_VALUE) | tf.equal(tf.strings.strip(value), b'')
  found = (value_start >= 0) & (first <= last)
  status = tf.where(is_null, NULL, tf.where(~found, NOT_FOUND,
                                            tf.where(last - first + 1 > longest_value, TOO_LONG, ALIGNED)))
  aligned = tf.equal(status, ALIGNED)
  none = -tf.ones_like(first)
  return tf.where(aligned, first, none), tf.where(aligned, last, none), tf.cast(status, tf.int64)


def transform(inputs, model: ModelConfig):
  """The features of raw questions (title, attribute) and, for training triples, their
  labels: what Transform writes and what the served model computes."""
  checkpoint = read_checkpoint(model.checkpoint)
  title_ids, attribute_ids, starts, ends = tokenize_questions(
      _flat(inputs[TITLE]), _flat(inputs[ATTRIBUTE]), checkpoint, model.max_attribute_tokens)
  outputs = {TITLE_TOKEN_IDS: title_ids.to_sparse(), ATTRIBUTE_TOKEN_IDS: attribute_ids.to_sparse(),
             TITLE_TOKEN_STARTS: starts.to_sparse(), TITLE_TOKEN_ENDS: ends.to_sparse()}
  if VALUE in inputs:   # training triples; at serving these outputs are pruned
    first, last, status = span_labels(
        _flat(inputs[VALUE]), _flat(inputs[VALUE_START]), _flat(inputs[VALUE_END]), starts, ends,
        longest_whole_value(model.window_overlap))
    outputs.update({VALUE_FIRST_TOKEN: first, VALUE_LAST_TOKEN: last, SPAN_STATUS: status,
                    TITLE_TOKEN_CONTINUES_WORD: continues_word(title_ids, checkpoint).to_sparse(),
                    TITLE_TEXT: _flat(inputs[TITLE]), VALUE_TEXT: _flat(inputs[VALUE])})
    if WEIGHT in inputs:   # examples written before weights existed weigh 1
      outputs[EXAMPLE_WEIGHT] = tf.cast(_flat(inputs[WEIGHT]), tf.float32)
    if SOURCE in inputs:   # labelled or mined: only the Trainer's log reads it
      outputs[EXAMPLE_SOURCE] = _flat(inputs[SOURCE])
  return outputs
