"""An exported AVEQA model loaded as a runtime serves it (TensorFlow, or ONNX Runtime for
the encoder), and run on raw questions outside Beam's RunInference.

Used by bulk inference's model handler, the exact-match evaluator and the offline
evaluation scripts. predict sorts questions by title length before batching, so each
batch is padded only to its own longest row, then puts the results back in input order.
"""
import hashlib
import os
from typing import Dict, List, Optional, Sequence

import numpy as np
import tensorflow as tf
import tensorflow_text  # noqa: F401  (the serving graph holds tensorflow-text ops)

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
    self.raw = loaded.signatures[raw_name]


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
  TensorFlow float32):
  .examples(examples=serialized tf.Examples) and .raw(title=, attribute=) return the
  OUTPUTS (serving/contract.py)."""
  check_serving(runtime, precision)
  if runtime == 'onnx':
    from serving.onnx_serving import OnnxServing
    return OnnxServing(serving_dir(model_uri), precision)
  return SavedModelServing(tf.saved_model.load(serving_dir(model_uri)), precision)


def predict(served, titles: Sequence[str], attributes: Sequence[str], batch_size: int) -> Dict[str, np.ndarray]:
  """Column arrays of the served model's answers for each (title, attribute), in input order."""
  order = np.argsort([len(t) for t in titles], kind='stable')
  columns: Dict[str, List[np.ndarray]] = {}
  for start in range(0, len(order), batch_size):
    rows = order[start:start + batch_size]
    out = served.raw(title=tf.constant([titles[i] for i in rows]),
                     attribute=tf.constant([attributes[i] for i in rows]))
    for key in OUTPUTS:
      if key in out:   # older exports lack some
        columns.setdefault(key, []).append(np.asarray(out[key]))
  result = {}
  for key, parts in columns.items():
    values = np.concatenate(parts) if parts else np.array([])
    restored = np.empty_like(values)
    restored[order] = values
    result[key] = restored
  for key in ('value', 'span_text'):
    result[key] = np.array([v.decode('utf-8', errors='replace') for v in result[key]], dtype=object)
  return result
