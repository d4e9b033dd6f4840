"""An exported AVEQA model loaded as a runtime serves it (TensorFlow, or ONNX Runtime for
the encoder), and run on raw questions outside Beam's RunInference.

Used by bulk inference's model handler, the exact-match evaluator and the offline
evaluation scripts. Either runtime answers a lot of questions at once, running the
network on batches of questions sorted by length, each padded only to its own longest
row, and gives the answers back in input order (serving/length_batches.py).
"""
import hashlib
import os
from typing import Dict, Optional, Sequence

import numpy as np
import tensorflow as tf
import tensorflow_text  # noqa: F401  (the serving graph holds tensorflow-text ops)

from catalog import questions
from serving import length_batches
from serving.config import InferenceConfig
from serving.contract import OUTPUTS, NotExported, check_serving, signature_names
from serving.serving_choice import REFERENCE


def serving_dir(model_uri: str) -> str:
  """The SavedModel folder inside a TFX Model artifact (or the folder itself)."""
  tfx_layout = os.path.join(model_uri, 'Format-Serving')
  return tfx_layout if tf.io.gfile.exists(tfx_layout) else model_uri


class SavedModelServing:
  """The SavedModel's own signatures of one precision (TensorFlow computes everything)."""

  def __init__(self, loaded, precision: str):
    self.loaded = loaded   # the signatures alone would not keep the model's variables alive
    examples_name, raw_name = signature_names(precision)
    missing = {examples_name, raw_name} - set(loaded.signatures)
    if missing:
      raise NotExported(f'the model has no signature {sorted(missing)} (it has {sorted(loaded.signatures)}): '
                        'exported before that precision existed, or a model type that does not serve '
                        'it (SUOpenTag: float32, bfloat16)')
    self.name = examples_name
    self.examples = loaded.signatures[examples_name]

  def answer(self, examples: Sequence[bytes], batch_size: int) -> Dict[str, np.ndarray]:
    """The OUTPUTS [N, 1] for N serialized questions, batch_size at a time, shortest first
    by serialized length (the signature tokenises inside: the title's length is the
    nearest measure of its tokens there is before it)."""
    examples = list(examples)
    batches = length_batches.shortest_first([len(e) for e in examples], batch_size)
    return length_batches.in_input_order(batches, [
        {name: np.asarray(values) for name, values in
         self.examples(examples=tf.constant([examples[i] for i in rows], tf.string)).items()}
        for rows in batches])


def model_fingerprint(model_uri: str) -> str:
  """A hash of the served model's graph and weights: the same fingerprint, the same answers,
  whichever folder holds the model."""
  folder = serving_dir(model_uri)
  digest = hashlib.sha256()
  weights = sorted(tf.io.gfile.glob(os.path.join(folder, 'variables', '*')))
  for path in [os.path.join(folder, 'saved_model.pb')] + weights:
    with tf.io.gfile.GFile(path, 'rb') as f:
      while chunk := f.read(1 << 24):
        digest.update(chunk)
  return digest.hexdigest()[:12]


def model_version(model_uri: str, fingerprint: Optional[str] = None) -> str:
  """Which model, exactly: its artifact folder's name and its fingerprint (computed unless
  given: the inference step has it)."""
  return f'{os.path.basename(model_uri.rstrip("/"))}-{fingerprint or model_fingerprint(model_uri)}'


def load(model_uri: str, precision: str = REFERENCE[1], runtime: str = REFERENCE[0]):
  """The model served as bulk inference serves it (by default the reference serving,
  TensorFlow float32): .answer(serialized questions, batch_size) returns the OUTPUTS
  (serving/contract.py), and .name says which serving answered."""
  check_serving(runtime, precision)
  if runtime == 'onnx':
    from serving.onnx_serving import OnnxServing
    return OnnxServing(serving_dir(model_uri), precision)
  return SavedModelServing(tf.saved_model.load(serving_dir(model_uri)), precision)


def predict(served, titles: Sequence[str], attributes: Sequence[str], batch_size: int,
            bucket_size: int = InferenceConfig.bucket_size) -> Dict[str, np.ndarray]:
  """Column arrays of the served model's answers for each (title, attribute), in input
  order; the served model takes bucket_size questions at a time (the memory bound) and
  batches them by length."""
  examples = [questions.question(title, attribute) for title, attribute in zip(titles, attributes)]
  lots = [served.answer(examples[start:start + bucket_size], batch_size)
          for start in range(0, len(examples), bucket_size)]
  result = {key: np.concatenate([lot[key][:, 0] for lot in lots])
            for key in OUTPUTS if lots and key in lots[0]}   # older exports lack some
  for key in ('value', 'span_text'):
    result[key] = np.array([v.decode('utf-8', errors='replace') for v in result[key]], dtype=object)
  return result
