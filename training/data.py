"""The Trainer's input pipeline: Transform's output -> windows -> model inputs.

Transform gives each question's title and attribute tokens whole; here they become the
model's sequences, one per window of the title (model/windows.py: one window for nearly
every title), each with its own span labels. Only trainable questions (a value aligned to
a span, or "no value") are trained on; a slice of the train split, chosen by a hash of each
question's tokens, is held out as the dev slice on which the value threshold is tuned
(training/value_tuning.py).
"""
import tensorflow as tf
from tfx_bsl.public import tfxio

from model import features as p
from catalog.triples import LABELLED
from model import windows

TRAINABLE_STATUSES = (p.ALIGNED, p.NULL)


def question_tokens(features):
  """Title and attribute token ids, ragged [B, (T)], from Transform's sparse outputs."""
  return (tf.RaggedTensor.from_sparse(features[p.TITLE_TOKEN_IDS]),
          tf.RaggedTensor.from_sparse(features[p.ATTRIBUTE_TOKEN_IDS]))


def training_windows(features, layout: windows.Layout, fixed_length=None):
  """Model inputs and span labels [N, T] of every window of a batch of questions."""
  title_ids, attribute_ids = question_tokens(features)
  question_windows = windows.split(title_ids, attribute_ids, layout)
  inputs = windows.model_inputs(question_windows, fixed_length)
  labels = windows.span_labels(
      question_windows, title_ids, tf.RaggedTensor.from_sparse(features[p.TITLE_TOKEN_CONTINUES_WORD]),
      tf.reshape(features[p.VALUE_FIRST_TOKEN], [-1]),
      tf.reshape(features[p.VALUE_LAST_TOKEN], [-1]),
      tf.equal(tf.reshape(features[p.SPAN_STATUS], [-1]), p.ALIGNED))
  inputs.update({k: tf.cast(v, tf.int32) for k, v in labels.items()})
  if p.EXAMPLE_WEIGHT in features:   # each window weighs as its question
    inputs['example_weight'] = tf.gather(tf.reshape(features[p.EXAMPLE_WEIGHT], [-1]),
                                         question_windows.question)
  return inputs


def _joined(ids):
  ids = ids.values if isinstance(ids, tf.SparseTensor) else tf.reshape(ids, [-1])
  return tf.strings.reduce_join(tf.strings.as_string(ids), separator=' ')


def attribute_key(features):
  """One question's attribute as its token ids joined by spaces: the same key as the
  model's attribute_keys (model/extraction.py)."""
  return _joined(features[p.ATTRIBUTE_TOKEN_IDS])


def in_dev(features, dev_fraction):
  """Whether a question belongs to the dev slice: a hash of its token ids, so the same
  question always lands on the same side whatever the file order."""
  key = _joined(features[p.TITLE_TOKEN_IDS]) + '|' + attribute_key(features)
  return tf.strings.to_hash_bucket_fast(key, 10000) < int(round(dev_fraction * 10000))


def of_attributes(keys):
  """A predicate on one question: its attribute_key is among keys (a non-empty set of str)."""
  table = tf.lookup.StaticHashTable(tf.lookup.KeyValueTensorInitializer(
      tf.constant(sorted(keys), tf.string), tf.ones([len(keys)], tf.bool)), default_value=False)
  return lambda features: table.lookup(attribute_key(features))


def transformed_examples(files, data_accessor, tft_output, batch_size, repeat):
  return data_accessor.tf_dataset_factory(
      files, tfxio.TensorFlowDatasetOptions(batch_size=batch_size, shuffle=repeat,
                                            num_epochs=None if repeat else 1),
      tft_output.transformed_metadata.schema).unbatch()


def trainable_dataset(files, data_accessor, tft_output, layout: windows.Layout, batch_size, repeat,
                      fixed_length=None, dev_fraction=0.0, held_out=frozenset()):
  """Windows of the trainable questions (aligned or NULL) outside the dev slice and not of
  the held_out attributes (attribute keys), in batches of batch_size windows, dynamically
  padded (or to fixed_length)."""
  trainable = transformed_examples(files, data_accessor, tft_output, batch_size, repeat).filter(
      lambda f: tf.reduce_any(tf.equal(tf.reshape(f[p.SPAN_STATUS], []), TRAINABLE_STATUSES)))
  if dev_fraction > 0:
    trainable = trainable.filter(lambda f: ~in_dev(f, dev_fraction))
  if held_out:
    held = of_attributes(held_out)
    trainable = trainable.filter(lambda f: ~held(f))
  window_examples = trainable.batch(batch_size).map(
      lambda f: training_windows(f, layout, fixed_length)).unbatch()
  batches = (window_examples.batch(batch_size, drop_remainder=True) if fixed_length
             else window_examples.padded_batch(batch_size))
  return batches.prefetch(tf.data.AUTOTUNE)


def dev_dataset(files, data_accessor, tft_output, batch_size, dev_fraction):
  """Batches of the dev slice's questions (Transform's features) with every span status:
  values the title does not hold count, as on eval."""
  return transformed_examples(files, data_accessor, tft_output, batch_size, False).filter(
      lambda f: in_dev(f, dev_fraction)).batch(batch_size)


def attribute_dataset(files, data_accessor, tft_output, batch_size, keys):
  """Batches of every question (all span statuses) of the attributes keys."""
  return transformed_examples(files, data_accessor, tft_output, batch_size, False).filter(
      of_attributes(keys)).batch(batch_size)


def attribute_counts(files, data_accessor, tft_output):
  """{attribute key: questions} over the files."""
  dataset = data_accessor.tf_dataset_factory(
      files, tfxio.TensorFlowDatasetOptions(batch_size=1024, num_epochs=1),
      tft_output.transformed_metadata.schema)
  counts = {}
  for batch in dataset:
    for row in tf.RaggedTensor.from_sparse(batch[p.ATTRIBUTE_TOKEN_IDS]).to_list():
      key = ' '.join(str(i) for i in row)
      counts[key] = counts.get(key, 0) + 1
  return counts


def example_counts(files, data_accessor, tft_output):
  """{source: {span status: examples}} of the files, for the log and the report. Examples
  written before sources existed count as labelled."""
  dataset = data_accessor.tf_dataset_factory(
      files, tfxio.TensorFlowDatasetOptions(batch_size=1024, num_epochs=1),
      tft_output.transformed_metadata.schema)
  counts = {}
  for batch in dataset:
    statuses = tf.reshape(batch[p.SPAN_STATUS], [-1]).numpy()
    sources = (tf.reshape(batch[p.EXAMPLE_SOURCE], [-1]).numpy() if p.EXAMPLE_SOURCE in batch
               else [LABELLED.encode()] * len(statuses))
    for source, status in zip(sources, statuses):
      by_status = counts.setdefault(source.decode(), dict.fromkeys(p.SPAN_STATUS_NAMES.values(), 0))
      by_status[p.SPAN_STATUS_NAMES[int(status)]] += 1
  return counts


def counts_line(counts) -> str:
  """'17,223 examples: labelled 15,073 (aligned 14,000, …), mined 2,150 (…)'."""
  per_source = [f'{source} {sum(by_status.values()):,} ('
                + ', '.join(f'{status} {n:,}' for status, n in by_status.items() if n) + ')'
                for source, by_status in sorted(counts.items())]
  total = sum(n for by_status in counts.values() for n in by_status.values())
  return f'{total:,} examples: ' + ', '.join(per_source)
