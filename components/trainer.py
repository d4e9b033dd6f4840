"""Trainer's run_fn: trains AVEQA on Transform's output and exports the serving model.

The exported SavedModel takes raw questions and applies the Transform graph itself:
  serving_default(examples: serialized tf.Example with title, attribute) -> predictions
  predict_raw(title: string[B], attribute: string[B])                   -> predictions
  serving_bfloat16, predict_raw_bfloat16: the same in bfloat16 compute
  serving_int8, predict_raw_int8: the same with the encoder's matmuls in int8
                                  (model/int8_serving.py; x86 CPUs)
predictions: value (the extracted text, '' for no value), span_text (the best span
even when "no value" is returned), begin, end, span_prob, no_answer_prob,
attribute_seen (trained on that attribute), confidence.
Written with keras.export.ExportArchive tracking both the model and the TFT layer:
the export that tfx-bsl's TF1 loader (BulkInferrer) can load.
"""
import contextlib
import json
import os

import keras
import tensorflow as tf
import tensorflow_text  # noqa: F401  (registers the tokenizer ops of the Transform graph)
import tensorflow_transform as tft
from tfx_bsl.public import tfxio

from components import preprocessing as p
from model import aveqa, int8_serving, value_threshold
from model.checkpoint import read_checkpoint

TRAINABLE_STATUSES = (p.ALIGNED, p.NULL)
PROGRESS_STEPS = 50
TUNING_FILE = 'value_threshold.json'   # beside the weights: the dev sweep and the chosen t

DEFAULT_HPARAMS = {
    'batch_size': 16,
    'learning_rate': 1e-5,     # the paper's Adam learning rate
    'warmup_fraction': 0.0,    # > 0: linear warm-up then linear decay
    'eval_steps': None,        # None: the whole eval split
    'max_seq_length': 128,
    'alpha': 0.5, 'beta': 0.5, 'temperature': 2.0, 'mask_rate': 0.15, 'dropout': 0.1,
    'top_k_begins': 5, 'max_answer_tokens': 16,
    'value_threshold': 0.5,    # used as is when dev_fraction = 0
    'dev_fraction': 0.05,      # training triples held out to tune the threshold on
    'tpu': None,               # TPU name/address for TPUClusterResolver ('' = local TPU)
    'seed': 0,                 # weights of the new heads, masking, dropout, shuffling
    'code_fingerprint': None,  # set by the pipeline so TFX's cache notices code changes
}


def choose_strategy(tpu=None):
  """TPUStrategy when a TPU is configured, MirroredStrategy on GPUs, else the default."""
  if tpu is not None:
    resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu)
    tf.config.experimental_connect_to_cluster(resolver)
    tf.tpu.experimental.initialize_tpu_system(resolver)
    return tf.distribute.TPUStrategy(resolver), 'mixed_bfloat16'
  gpus = tf.config.list_logical_devices('GPU')
  if gpus:
    return tf.distribute.MirroredStrategy(), 'mixed_float16'
  return tf.distribute.get_strategy(), None


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


def _examples(files, data_accessor, tft_output, batch_size, repeat):
  return data_accessor.tf_dataset_factory(
      files, tfxio.TensorFlowDatasetOptions(batch_size=batch_size, shuffle=repeat,
                                            num_epochs=None if repeat else 1),
      tft_output.transformed_metadata.schema).unbatch()


def _dataset(files, data_accessor, tft_output, batch_size, repeat, fixed_length=None, dev_fraction=0.0):
  """Trainable examples (aligned or NULL) outside the dev slice, dynamically padded."""
  dataset = _examples(files, data_accessor, tft_output, batch_size, repeat).filter(
      lambda f: tf.reduce_any(tf.equal(tf.reshape(f[p.SPAN_STATUS], []), TRAINABLE_STATUSES)))
  if dev_fraction > 0:
    dataset = dataset.filter(lambda f: ~in_dev(f, dev_fraction))
  return (dataset.batch(batch_size, drop_remainder=fixed_length is not None)
          .map(lambda f: model_inputs(f, fixed_length)).prefetch(tf.data.AUTOTUNE))


def _dev_dataset(files, data_accessor, tft_output, batch_size, dev_fraction):
  """The dev slice with every span status: values the title does not hold count, as on eval."""
  dataset = _examples(files, data_accessor, tft_output, batch_size, False).filter(
      lambda f: in_dev(f, dev_fraction))
  return dataset.batch(batch_size).map(
      lambda f: (model_inputs(f), tf.reshape(f[p.SPAN_STATUS], [-1])))


def tune_value_threshold(model, dev):
  """Sets model.config.value_threshold to the dev slice's exact-match optimum.
  Returns the sweep (threshold, counts, F1 per row) and the chosen threshold."""
  predict = tf.function(model.predict_spans, reduce_retracing=True)
  probs, predicted, gold, has_value = [], [], [], []
  for inputs, status in dev:
    spans = predict({k: inputs[k] for k in ('token_ids', 'segment_ids', 'padding_mask')})
    probs.extend(value_threshold.decision_score(
        value_threshold.value_probability(spans['span_prob'], spans['no_answer_prob']),
        spans['no_answer_prob'], spans['attribute_seen']).numpy())
    predicted.extend(zip(spans['begin'].numpy(), spans['end'].numpy()))
    status = status.numpy()
    # A gold value the title does not hold (or that was cut off) cannot be matched.
    gold.extend((b, e) if s == p.ALIGNED else ('unmatchable', s) for b, e, s in zip(
        inputs[p.BEGIN].numpy(), inputs[p.END].numpy(), status))
    has_value.extend(status != p.NULL)
  rows = value_threshold.sweep(probs, predicted, gold, has_value)
  chosen = value_threshold.best_threshold(rows, model.config.value_threshold)
  model.config.value_threshold = chosen
  return {'dev_examples': len(probs), 'threshold': chosen, 'sweep': rows}


def trained_attribute_keys(model, train):
  """The attribute keys (AveqaModel.attribute_keys) of every question trained on."""
  keys = set()
  for inputs in train:
    keys.update(model.attribute_keys(inputs).numpy())
  return keys


def settle_decisions(model, train_files, data_accessor, tft_output, batch_size, dev_fraction,
                     tuning_dir=None):
  """After training: the model remembers the attributes it was trained on and, when a dev
  slice was held out and tuning_dir is given, takes the value threshold that is best
  there (written to tuning_dir/TUNING_FILE). Returns that tuning, or None."""
  model.remember_attributes(trained_attribute_keys(model, _dataset(
      train_files, data_accessor, tft_output, batch_size, False, None, dev_fraction)))
  print(f'{model.seen_attributes.size().numpy()} attributes trained on; any other is decided by '
        'the no-answer head alone')
  if dev_fraction <= 0 or tuning_dir is None:
    return None
  tuning = tune_value_threshold(model, _dev_dataset(train_files, data_accessor, tft_output, batch_size,
                                                    dev_fraction))
  print(f"Value threshold {tuning['threshold']} (best exact-match F1 on "
        f"{tuning['dev_examples']} dev examples held out of the train split)")
  tf.io.gfile.makedirs(tuning_dir)
  with tf.io.gfile.GFile(os.path.join(tuning_dir, TUNING_FILE), 'w') as f:
    json.dump(tuning, f, indent=1)
  return tuning


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


def _learning_rate(hparams, steps):
  lr = hparams['learning_rate']
  warmup = int(steps * hparams['warmup_fraction'])
  if warmup <= 0:
    return lr
  decay = keras.optimizers.schedules.PolynomialDecay(lr, max(steps - warmup, 1), 0.0)

  class WarmupThenDecay(keras.optimizers.schedules.LearningRateSchedule):
    def __call__(self, step):
      step = tf.cast(step, tf.float32)
      return tf.where(step < warmup, lr * step / warmup, decay(step - warmup))
  return WarmupThenDecay()


def model_config(hparams):
  return aveqa.AveqaConfig(**{k: hparams[k] for k in (
      'alpha', 'beta', 'temperature', 'mask_rate', 'dropout', 'top_k_begins',
      'max_answer_tokens', 'value_threshold')})


# Signature names per serving precision. bfloat16 computes with the float32 variables
# in bfloat16 (Keras mixed_bfloat16): about half the matmul cost on CPUs with
# AVX512-BF16/AMX and on TPUs. int8 runs the encoder's dense layers as uint8 x int8
# products on oneDNN (weights quantized at export, activations per batch), about 1.7x
# bfloat16 on AVX512-VNNI CPUs. Each is measured for F1 by the evaluator that gates it.
PRECISIONS = ('float32', 'bfloat16', 'int8')


def signature_names(precision='float32'):
  """(examples signature, raw-strings signature) serving the given precision."""
  if precision not in PRECISIONS:
    raise ValueError(f'precision must be one of {PRECISIONS}, not {precision!r}')
  if precision == 'float32':
    return 'serving_default', 'predict_raw'
  return f'serving_{precision}', f'predict_raw_{precision}'


@contextlib.contextmanager
def compute_policy(model, policy):
  """Every layer of model computes under the dtype policy inside the block."""
  layers = list(model._flatten_layers(include_self=True))
  previous = [layer.dtype_policy for layer in layers]
  for layer in layers:
    layer.dtype_policy = policy
  try:
    yield
  finally:
    for layer, before in zip(layers, previous):
      layer.dtype_policy = before


def serving_precision(model, precision, int8_encoder):
  """The context under which a signature of the given precision is traced."""
  if precision == 'bfloat16':
    return compute_policy(model, 'mixed_bfloat16')
  if precision == 'int8':
    return int8_encoder.int8_matmuls()
  return contextlib.nullcontext()


def export_serving_model(model, tft_output, export_dir):
  """SavedModel with, per precision, an examples signature and a raw-strings one."""
  tft_layer = tft_output.transform_features_layer()
  raw_spec = {k: v for k, v in tft_output.raw_feature_spec().items() if k not in p.LABEL_FEATURES}

  def predict(title, attribute):
    transformed = tft_layer({p.TITLE: tf.reshape(title, [-1, 1]),
                             p.ATTRIBUTE: tf.reshape(attribute, [-1, 1])})
    inputs = model_inputs(transformed)
    spans = model.predict_spans(inputs)
    starts = tf.sparse.to_dense(transformed[p.TITLE_TOKEN_STARTS], default_value=0)
    ends = tf.sparse.to_dense(transformed[p.TITLE_TOKEN_ENDS], default_value=0)
    # Sequence position i holds title token i - 1 ([CLS] first).
    first = tf.gather(starts, tf.maximum(spans['begin'] - 1, 0), batch_dims=1)
    last = tf.gather(ends, tf.maximum(spans['end'] - 1, 0), batch_dims=1)
    text = tf.strings.substr(tf.reshape(title, [-1]), tf.cast(first, tf.int32),
                             tf.cast(last - first, tf.int32))
    return {'value': tf.where(spans['has_value'], text, ''),
            'span_text': text,   # the best span even when "no value" wins: for threshold sweeps
            'begin': spans['begin'], 'end': spans['end'], 'span_prob': spans['span_prob'],
            'no_answer_prob': spans['no_answer_prob'], 'attribute_seen': spans['attribute_seen'],
            'confidence': spans['confidence']}

  def serve_examples(examples):
    raw = tf.io.parse_example(examples, raw_spec)
    outputs = predict(tf.reshape(raw[p.TITLE], [-1]), tf.reshape(raw[p.ATTRIBUTE], [-1]))
    # [B, 1]: tfx-bsl splits outputs per example and needs an array, not a scalar, for strings.
    return {k: v[:, tf.newaxis] for k, v in outputs.items()}

  archive = keras.export.ExportArchive()
  archive.track(model)
  archive.track(tft_layer)   # attribute assignment would leave the TFT resources untracked
  if model.seen_attributes is not None:
    archive.track(model.seen_attributes)
  int8_encoder = int8_serving.Int8Encoder(model.encoder)
  archive.track(int8_encoder)   # its int8 kernels are variables of the SavedModel
  for precision in PRECISIONS:
    examples_name, raw_name = signature_names(precision)
    examples_fn = tf.function(serve_examples, input_signature=[
        tf.TensorSpec([None], tf.string, name='examples')])
    raw_fn = tf.function(predict, input_signature=[tf.TensorSpec([None], tf.string, name='title'),
                                                   tf.TensorSpec([None], tf.string, name='attribute')])
    # Traced here, in the precision's context; the archive takes the traces as they are
    # (given an input_signature it would trace again at write_out, outside that context).
    with serving_precision(model, precision, int8_encoder):
      examples_fn.get_concrete_function()
      raw_fn.get_concrete_function()
    archive.add_endpoint(examples_name, examples_fn)
    archive.add_endpoint(raw_name, raw_fn)
  archive.write_out(export_dir)


def run_fn(fn_args):
  """TFX Trainer entry point. custom_config: checkpoint plus any of DEFAULT_HPARAMS."""
  hparams = {**DEFAULT_HPARAMS, **(fn_args.custom_config or {})}
  keras.utils.set_random_seed(hparams['seed'])
  tft_output = tft.TFTransformOutput(fn_args.transform_output)
  strategy, precision = choose_strategy(hparams['tpu'])
  if precision:
    keras.mixed_precision.set_global_policy(precision)
  fixed_length = hparams['max_seq_length'] if hparams['tpu'] is not None else None
  batch_size = hparams['batch_size'] * strategy.num_replicas_in_sync

  for name, files in (('train', fn_args.train_files), ('eval', fn_args.eval_files)):
    print(f'Span alignment of the {name} split:',
          json.dumps(span_status_counts(files, fn_args.data_accessor, tft_output)))
  dev_fraction = hparams['dev_fraction']
  train = _dataset(fn_args.train_files, fn_args.data_accessor, tft_output, batch_size, True,
                   fixed_length, dev_fraction)
  evaluation = _dataset(fn_args.eval_files, fn_args.data_accessor, tft_output, batch_size, False, fixed_length)

  checkpoint = read_checkpoint(hparams['checkpoint'])
  steps = fn_args.train_steps
  with strategy.scope():
    model = aveqa.build_model(checkpoint, model_config(hparams))
    model.compile(optimizer=keras.optimizers.Adam(_learning_rate(hparams, steps)))
  print('\n'.join(aveqa.summary_lines(model)))

  log_dir = os.path.join(fn_args.model_run_dir, 'logs')
  callbacks = [keras.callbacks.TensorBoard(log_dir=log_dir, update_freq=50),
               keras.callbacks.ModelCheckpoint(os.path.join(fn_args.model_run_dir, 'aveqa.weights.h5'),
                                               save_weights_only=True)]
  # Keras "epochs" of at most PROGRESS_STEPS steps, so a long run prints its losses as
  # it goes; the eval split is scored once, at the end.
  chunk = min(steps, PROGRESS_STEPS)
  epochs = -(-steps // chunk)
  model.fit(train, steps_per_epoch=chunk, epochs=epochs, validation_data=evaluation,
            validation_freq=epochs, validation_steps=hparams['eval_steps'] or fn_args.eval_steps or None,
            callbacks=callbacks, verbose=2)
  settle_decisions(model, fn_args.train_files, fn_args.data_accessor, tft_output, batch_size,
                   dev_fraction, fn_args.model_run_dir)
  export_serving_model(model, tft_output, fn_args.serving_model_dir)
