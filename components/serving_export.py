"""The serving SavedModel: per precision, an examples signature and a raw-strings one
(components/serving_contract.py), each applying the Transform graph to raw questions.

Written with keras.export.ExportArchive tracking both the model and the TFT layer, so
that both TF2 loaders (Beam's RunInference here) and TF1 ones (tfx-bsl's) load it.
"""
import contextlib

import keras
import tensorflow as tf

from components import preprocessing as p
from components.serving_contract import OUTPUTS, PRECISIONS, signature_names
from components.training_data import question_tokens
from model import int8_serving


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


@contextlib.contextmanager
def serving_precision(model, precision, int8_encoder):
  """The context under which a signature of the given precision is traced. float32 and
  int8 compute in float32 even when the model was trained under a mixed policy (TPU,
  GPU): a signature computes in the precision its name says."""
  with compute_policy(model, 'mixed_bfloat16' if precision == 'bfloat16' else 'float32'):
    with int8_encoder.int8_matmuls() if precision == 'int8' else contextlib.nullcontext():
      yield


def export_serving_model(model, tft_output, export_dir):
  """SavedModel with, per precision, an examples signature and a raw-strings one."""
  tft_layer = tft_output.transform_features_layer()
  raw_spec = {k: v for k, v in tft_output.raw_feature_spec().items() if k not in p.LABEL_FEATURES}

  def predict(title, attribute):
    transformed = tft_layer({p.TITLE: tf.reshape(title, [-1, 1]),
                             p.ATTRIBUTE: tf.reshape(attribute, [-1, 1])})
    answers = model.predict_questions(*question_tokens(transformed))   # a long title: windows
    # One padding column, so that gathering token 0 of an empty title reads 0.
    starts = tf.pad(tf.sparse.to_dense(transformed[p.TITLE_TOKEN_STARTS]), [[0, 0], [0, 1]])
    ends = tf.pad(tf.sparse.to_dense(transformed[p.TITLE_TOKEN_ENDS]), [[0, 0], [0, 1]])
    first = tf.gather(starts, answers['begin'], batch_dims=1)
    last = tf.gather(ends, answers['end'], batch_dims=1)
    text = tf.strings.substr(tf.reshape(title, [-1]), tf.cast(first, tf.int32),
                             tf.cast(last - first, tf.int32))
    return {'value': tf.where(answers['has_value'], text, ''),
            'span_text': text,   # the best span even when "no value" wins: for threshold sweeps
            **{k: answers[k] for k in OUTPUTS if k not in ('value', 'span_text')}}

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
  archive.write_out(export_dir, verbose=False)   # its endpoint dump is 850 lines of TensorSpecs
