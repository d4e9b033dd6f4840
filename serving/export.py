"""The serving SavedModel: per precision, an examples signature and a raw-strings one
(serving/contract.py), each applying the Transform graph to raw questions.

Written with keras.export.ExportArchive tracking both the model and the TFT layer, so
that both TF2 loaders (Beam's RunInference here) and TF1 ones (tfx-bsl's) load it.
"""
import contextlib
import json
import logging
import os
import shutil
import tempfile

import keras
import tensorflow as tf

from model import features as p
from serving.contract import (ONNX_ANSWERS, ONNX_ENDPOINTS, ONNX_FILES, ONNX_FUSIONS_FILE,
                                         ONNX_INPUTS, OUTPUTS, SERVED_PRECISIONS, SERVED_RUNTIMES,
                                         signature_names)
from training.data import question_tokens
from serving import int8 as int8_serving, onnx_encoder, onnx_spans

log = logging.getLogger(__name__)


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
def serving_precision(model, precision, int8_encoder=None):
  """The context under which a signature of the given precision is traced. float32 and
  int8 compute in float32 even when the model was trained under a mixed policy (TPU,
  GPU): a signature computes in the precision its name says."""
  with compute_policy(model, 'mixed_bfloat16' if precision == 'bfloat16' else 'float32'):
    with int8_encoder.int8_matmuls() if precision == 'int8' else contextlib.nullcontext():
      yield


def export_serving_model(model, tft_output, export_dir, approximate_gelu):
  """SavedModel with, per precision the model type serves (serving_contract.py), an
  examples signature and a raw-strings one; for AVEQA also the encoder as ONNX graphs
  (float32, int8) with the two endpoints that serve them. approximate_gelu: the encoder's
  GELU is the tanh form (model/checkpoint.py)."""
  tft_layer = tft_output.transform_features_layer()
  raw_spec = {k: v for k, v in tft_output.raw_feature_spec().items() if k not in p.LABEL_FEATURES}

  def tokens(title, attribute):
    transformed = tft_layer({p.TITLE: tf.reshape(title, [-1, 1]),
                             p.ATTRIBUTE: tf.reshape(attribute, [-1, 1])})
    return transformed, question_tokens(transformed)

  def predict(title, attribute, searched=None):
    transformed, question = tokens(title, attribute)
    answers = model.predict_questions(*question, searched)   # a long title: windows
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

  def questions(examples):
    raw = tf.io.parse_example(examples, raw_spec)
    return tf.reshape(raw[p.TITLE], [-1]), tf.reshape(raw[p.ATTRIBUTE], [-1])

  def serve_examples(examples, searched=None):
    outputs = predict(*questions(examples), searched)
    # [B, 1]: tfx-bsl splits outputs per example and needs an array, not a scalar, for strings.
    return {k: v[:, tf.newaxis] for k, v in outputs.items()}

  def onnx_encoder_inputs(examples):
    return model.encoder_inputs(*tokens(*questions(examples))[1])

  def onnx_answers(examples, *searched):   # onnx_spans.OUTPUTS, in order
    return serve_examples(examples, dict(zip(onnx_spans.OUTPUTS, searched)))

  archive = keras.export.ExportArchive()
  for resource in (model, tft_layer, model.seen_attributes):
    if resource is not None:   # attribute assignment would leave the TFT resources untracked
      archive.track(resource)
  precisions = SERVED_PRECISIONS[model.model_type]
  int8_encoder = int8_serving.Int8Encoder(model.encoder) if 'int8' in precisions else None
  if int8_encoder is not None:
    archive.track(int8_encoder)   # its int8 kernels are variables of the SavedModel
  for precision in precisions:
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
  if 'onnx' in SERVED_RUNTIMES[model.model_type]:
    export_onnx_endpoints(model, tft_layer, onnx_encoder_inputs, onnx_answers, export_dir)
    export_onnx_graphs(model, approximate_gelu, export_dir)


def export_onnx_endpoints(model, tft_layer, encoder_inputs, answers, export_dir):
  """The two endpoints around the graph that ONNX Runtime computes, as a SavedModel of
  their own, zipped to export_dir/ONNX_ENDPOINTS: the encoder's inputs of serialized
  questions, and the answers given the graph's span search per window (the decisions and
  the value's text). It holds the Transform graph but no encoder and none of the other
  precisions' traces, so ONNX serving does not load the full SavedModel (12 s on 2 cores)."""
  archive = keras.export.ExportArchive()
  for resource in (tft_layer, model.seen_attributes):
    if resource is not None:
      archive.track(resource)
  examples_spec = tf.TensorSpec([None], tf.string, name='examples')
  inputs_fn = tf.function(encoder_inputs, input_signature=[examples_spec])
  answers_fn = tf.function(answers, input_signature=[examples_spec] + [
      tf.TensorSpec([None, *shape], dtype, name=name) for name, (dtype, shape) in onnx_spans.OUTPUT_TYPES.items()])
  with serving_precision(model, 'float32'):
    inputs_fn.get_concrete_function()
    answers_fn.get_concrete_function()
  archive.add_endpoint(ONNX_INPUTS, inputs_fn)
  archive.add_endpoint(ONNX_ANSWERS, answers_fn)
  with tempfile.TemporaryDirectory(prefix='aveqa-onnx-endpoints-') as local:
    archive.write_out(os.path.join(local, 'saved_model'), verbose=False)
    zipped = shutil.make_archive(os.path.join(local, 'endpoints'), 'zip', os.path.join(local, 'saved_model'))
    tf.io.gfile.makedirs(os.path.dirname(os.path.join(export_dir, ONNX_ENDPOINTS)))
    tf.io.gfile.copy(zipped, os.path.join(export_dir, ONNX_ENDPOINTS), overwrite=True)


def export_onnx_graphs(model, approximate_gelu, export_dir):
  """The ONNX graphs of the encoder with the heads and the span search (float32, int8)
  beside the SavedModel (export_dir may be gs://), with what ONNX Runtime's optimizer
  fused; a fusion that did not happen is logged, since the graph still answers, only slower."""
  encoder = model.encoder
  with tempfile.TemporaryDirectory(prefix='aveqa-onnx-') as local:
    paths = {precision: os.path.join(local, os.path.basename(name)) for precision, name in ONNX_FILES.items()}
    fused = onnx_encoder.export(encoder, approximate_gelu, paths['float32'], paths['int8'],
                                search=onnx_spans.of_model(model))
    missing = onnx_encoder.missing_fusions(fused, len(encoder.transformer_layers), approximate_gelu)
    if missing:
      log.warning('ONNX Runtime did not fuse every layer of the encoder: %s', ', '.join(missing))
    tf.io.gfile.makedirs(os.path.dirname(os.path.join(export_dir, ONNX_FILES['float32'])))
    for precision, name in ONNX_FILES.items():
      tf.io.gfile.copy(paths[precision], os.path.join(export_dir, name), overwrite=True)
    with tf.io.gfile.GFile(os.path.join(export_dir, ONNX_FUSIONS_FILE), 'w') as f:
      json.dump({'fused_operators': {k: v for k, v in fused.items() if v}, 'missing': missing}, f, indent=2)
