"""Transform's preprocessing_fn: WordPiece tokenization and span labels, in one TF graph.

The same graph is applied by Transform to the training triples and, inside the
exported SavedModel, to every raw (title, attribute) question at serving time, so
tokenization cannot drift between training and inference.

Sequence layout (AVEQA's Figure 2, context first):

  [CLS] title tokens [SEP] attribute tokens [SEP]
  segment 0 ........................ | segment 1 .....

The attribute keeps at most max_attribute_tokens; the title is cut to fit
max_seq_length. Labels come from the value's byte span in the title, found in
ExampleGen (components/span_alignment.py) and mapped here to the first and last
title token that overlap it.
"""
import tensorflow as tf
import tensorflow_text as tf_text

from model.checkpoint import read_checkpoint
from pipelines import configs

# Raw features.
TITLE, ATTRIBUTE, VALUE = 'title', 'attribute', 'value'
VALUE_START, VALUE_END = 'value_start', 'value_end'
LABEL_FEATURES = (VALUE, VALUE_START, VALUE_END)
NULL_VALUE = b'NULL'

# Transformed features.
TOKEN_IDS, SEGMENT_IDS = 'token_ids', 'segment_ids'
TITLE_TOKEN_STARTS, TITLE_TOKEN_ENDS = 'title_token_starts', 'title_token_ends'
BEGIN, END, HAS_ANSWER, SPAN_STATUS = 'begin_position', 'end_position', 'has_answer', 'span_status'

# span_status values: why an example does or does not have a trainable span.
ALIGNED, NULL, NOT_FOUND, TRUNCATED = 0, 1, 2, 3
SPAN_STATUS_NAMES = {ALIGNED: 'aligned', NULL: 'null (no value)',
                     NOT_FOUND: 'value not found in title', TRUNCATED: 'value cut off by max_seq_length'}


def _flat(tensor):
  """[B] dense tensor from a dense [B] / [B, 1] or a sparse [B, 1] feature."""
  if isinstance(tensor, tf.SparseTensor):
    default = '' if tensor.dtype == tf.string else -1
    tensor = tf.sparse.to_dense(tensor, default_value=default)
  return tf.reshape(tensor, [-1])


def _keep_first(ragged, counts):
  """Each row of ragged cut to its first counts[row] items."""
  positions = tf.ragged.range(ragged.row_lengths())
  return tf.ragged.boolean_mask(ragged, positions < tf.cast(counts, tf.int64)[:, tf.newaxis])


def tokenizer_for(checkpoint):
  return tf_text.FastBertTokenizer(vocab=checkpoint.vocab, token_out_type=tf.int64,
                                   lower_case_nfd_strip_accents=checkpoint.lower_case)


def encode_questions(title, attribute, checkpoint, max_seq_length, max_attribute_tokens):
  """Token ids, segment ids and the title tokens' byte offsets, all ragged [B, (T)]."""
  tokenizer = tokenizer_for(checkpoint)
  ids = checkpoint.special_ids
  title_ids, starts, ends = tokenizer.tokenize_with_offsets(title)
  attribute_ids = tokenizer.tokenize(attribute)[:, :max_attribute_tokens]
  title_budget = max_seq_length - 3 - attribute_ids.row_lengths()
  title_ids = _keep_first(title_ids, title_budget)
  starts, ends = _keep_first(starts, title_budget), _keep_first(ends, title_budget)
  token_ids, segment_ids = tf_text.combine_segments(
      [title_ids, attribute_ids], start_of_sequence_id=ids['cls'], end_of_segment_id=ids['sep'])
  return token_ids, segment_ids, starts, ends


def span_labels(value, value_start, value_end, starts, ends):
  """Begin/end positions in the sequence ([CLS] = 0), has_answer and span_status."""
  starts_dense = starts.to_tensor(default_value=tf.int64.max)
  ends_dense = ends.to_tensor(default_value=-1)
  count = tf.cast(starts.row_lengths(), tf.int64)
  # Offsets grow along the title, so "ends after the value starts" holds on a suffix of
  # the tokens and "starts before the value ends" on a prefix.
  begin_token = count - tf.reduce_sum(tf.cast(ends_dense > value_start[:, None], tf.int64), -1)
  end_token = tf.reduce_sum(tf.cast(starts_dense < value_end[:, None], tf.int64), -1) - 1
  last_end = tf.reduce_max(ends_dense, -1)
  is_null = tf.equal(value, NULL_VALUE) | tf.equal(tf.strings.strip(value), b'')
  found = value_start >= 0
  status = tf.where(is_null, NULL,
                    tf.where(~found, NOT_FOUND,
                             tf.where((last_end < value_end) | (begin_token > end_token),
                                      TRUNCATED, ALIGNED)))
  aligned = tf.equal(status, ALIGNED)
  begin = tf.where(aligned, begin_token + 1, 0)
  end = tf.where(aligned, end_token + 1, 0)
  return begin, end, tf.cast(aligned, tf.int64), tf.cast(status, tf.int64)


def preprocessing_fn(inputs, custom_config):
  """TFT entry point. custom_config: {'model': ModelConfig as a dict} (pipelines/configs.py),
  plus a code fingerprint that only TFX's cache reads."""
  model = configs.section_from_dict(configs.ModelConfig, custom_config['model'])
  checkpoint = read_checkpoint(model.checkpoint)
  title = _flat(inputs[TITLE])
  token_ids, segment_ids, starts, ends = encode_questions(
      title, _flat(inputs[ATTRIBUTE]), checkpoint, model.max_seq_length, model.max_attribute_tokens)
  outputs = {TOKEN_IDS: token_ids.to_sparse(), SEGMENT_IDS: segment_ids.to_sparse(),
             TITLE_TOKEN_STARTS: starts.to_sparse(), TITLE_TOKEN_ENDS: ends.to_sparse()}
  if VALUE in inputs:   # training triples; at serving these outputs are pruned
    begin, end, has_answer, status = span_labels(
        _flat(inputs[VALUE]), _flat(inputs[VALUE_START]), _flat(inputs[VALUE_END]), starts, ends)
    outputs.update({BEGIN: begin, END: end, HAS_ANSWER: has_answer, SPAN_STATUS: status})
  return outputs
