"""The Trainer's input pipeline: Transform's output -> dense model inputs.

Only trainable examples (a value aligned to a span, or "no value") are trained on; a
slice of the train split, chosen by a hash of each question's tokens, is held out as the
dev slice on which the value threshold is tuned (components/value_tuning.py).
"""
import tensorflow as tf
from tfx_bsl.public import tfxio

from components import preprocessing as p

TRAINABLE_STATUSES = (p.ALIGNED, p.NULL)


def model_inputs(features, fixed_length=None):
  """Dense model inputs from Transform's sparse outputs, padded to the batch's longest
  row (dynamic padding), or to fixed_length where shapes must be static (TPU)."""
  def dense(sparse):
    if fixed_length:
      sparse = tf.sparse.reset_shape(sparse, [tf.shape(sparse, out_type=tf.int64)[0], fixed_length])
    return tf.cast(tf.sparse.to_dense(sparse), tf.int32)
  token_ids = features[p.TOKEN_IDS]
  inputs = {'token_ids': dense(token_ids), 'segment_ids': dense(features[p.SEGMENT_IDS]),
            'padding_mask': dense(tf.sparse.map_values(tf.ones_like, token_ids))}
  for label in (p.BEGIN, p.END, p.HAS_ANSWER):
    if label in features:
      inputs[label] = tf.reshape(tf.cast(features[label], tf.int32), [-1])
  return inputs


def in_dev(features, dev_fraction):
  """Whether an example belongs to the dev slice: a hash of its token ids, so the same
  question always lands on the same side whatever the file order."""
  ids = features[p.TOKEN_IDS]
  ids = ids.values if isinstance(ids, tf.SparseTensor) else tf.reshape(ids, [-1])
  key = tf.strings.reduce_join(tf.strings.as_string(ids), separator=' ')
  return tf.strings.to_hash_bucket_fast(key, 10000) < int(round(dev_fraction * 10000))


def transformed_examples(files, data_accessor, tft_output, batch_size, repeat):
  return data_accessor.tf_dataset_factory(
      files, tfxio.TensorFlowDatasetOptions(batch_size=batch_size, shuffle=repeat,
                                            num_epochs=None if repeat else 1),
      tft_output.transformed_metadata.schema).unbatch()


def trainable_dataset(files, data_accessor, tft_output, batch_size, repeat, fixed_length=None, dev_fraction=0.0):
  """Trainable examples (aligned or NULL) outside the dev slice, dynamically padded."""
  trainable = transformed_examples(files, data_accessor, tft_output, batch_size, repeat).filter(
      lambda f: tf.reduce_any(tf.equal(tf.reshape(f[p.SPAN_STATUS], []), TRAINABLE_STATUSES)))
  if dev_fraction > 0:
    trainable = trainable.filter(lambda f: ~in_dev(f, dev_fraction))
  return (trainable.batch(batch_size, drop_remainder=fixed_length is not None)
          .map(lambda f: model_inputs(f, fixed_length)).prefetch(tf.data.AUTOTUNE))


def dev_dataset(files, data_accessor, tft_output, batch_size, dev_fraction):
  """The dev slice with every span status: values the title does not hold count, as on eval."""
  dev = transformed_examples(files, data_accessor, tft_output, batch_size, False).filter(
      lambda f: in_dev(f, dev_fraction))
  return dev.batch(batch_size).map(
      lambda f: (model_inputs(f), tf.reshape(f[p.SPAN_STATUS], [-1])))


def span_status_counts(files, data_accessor, tft_output):
  """How many examples of each span status the files hold (for the log and the report)."""
  dataset = data_accessor.tf_dataset_factory(
      files, tfxio.TensorFlowDatasetOptions(batch_size=1024, num_epochs=1),
      tft_output.transformed_metadata.schema)
  counts = dict.fromkeys(p.SPAN_STATUS_NAMES.values(), 0)
  for batch in dataset:
    for status in tf.reshape(batch[p.SPAN_STATUS], [-1]).numpy():
      counts[p.SPAN_STATUS_NAMES[int(status)]] += 1
  return counts
