"""The exported model with its network on ONNX Runtime.

For a lot of serialized questions: the onnx_encoder_inputs endpoint tokenises them all
(the Transform graph, long titles split into windows); ONNX Runtime runs the graph of
the chosen precision (the encoder, AVEQA's heads and the span search per window:
serving/onnx_encoder.py, serving/onnx_spans.py) on batches of windows sorted by their
token count, each cut to its own longest; and the onnx_answers endpoint takes the same
decisions as the TensorFlow signatures (value threshold, unseen attributes, best window,
the value's text). The endpoints are the export's small zipped SavedModel beside the
graphs (serving_contract.ONNX_ENDPOINTS); the full SavedModel is never loaded.
"""
import atexit
import io
import os
import shutil
import tempfile
import threading
import zipfile
from typing import Dict, Sequence

import numpy as np
import tensorflow as tf

from serving.contract import ONNX_ANSWERS, ONNX_ENDPOINTS, ONNX_FILES, ONNX_INPUTS, NotExported
from serving import length_batches, onnx_spans
from serving.onnx_encoder import PADDING_MASK


def session(model_bytes: bytes):
  """A CPU inference session, one intra-op thread per physical core (ONNX Runtime's default)."""
  import onnxruntime as ort
  options = ort.SessionOptions()
  options.inter_op_num_threads = 1   # the graph is one chain of kernels
  return ort.InferenceSession(model_bytes, options, providers=['CPUExecutionProvider'])


def load_zipped(zip_path: str):
  """A SavedModel from a zip file (local or gs://), unpacked to a temporary folder that
  lives as long as the process: its tables read their vocabulary assets from there."""
  folder = tempfile.mkdtemp(prefix='aveqa-onnx-endpoints-')
  atexit.register(shutil.rmtree, folder, ignore_errors=True)
  with tf.io.gfile.GFile(zip_path, 'rb') as f:
    zipfile.ZipFile(io.BytesIO(f.read())).extractall(folder)
  return tf.saved_model.load(folder)


class OnnxServing:
  """Answers as inference.SavedModelServing does, with the network on ONNX Runtime."""

  def __init__(self, saved_model_dir: str, precision: str):
    path = os.path.join(saved_model_dir, ONNX_FILES[precision])
    endpoints = os.path.join(saved_model_dir, ONNX_ENDPOINTS)
    if not (tf.io.gfile.exists(path) and tf.io.gfile.exists(endpoints)):
      raise NotExported(f'{saved_model_dir} has no ONNX graph ({ONNX_FILES[precision]} and its '
                        f'endpoints {ONNX_ENDPOINTS}): exported before ONNX serving existed, or '
                        'before the heads and the span search moved into the graph? Serve it with '
                        '--runtime tensorflow, or re-export it (benchmarks/reexport_model.py)')
    self.loaded = load_zipped(endpoints)   # the signatures alone would not keep its tables alive
    self.name = f'onnx_{precision}'
    self._inputs, self._answers = self.loaded.signatures[ONNX_INPUTS], self.loaded.signatures[ONNX_ANSWERS]
    with tf.io.gfile.GFile(path, 'rb') as f:
      self.session = session(f.read())
    # Beam's in-memory runner calls one shared model from several bundle threads; the
    # session's own threads already use every core, so two batches at once only fight
    # over them: one runs at a time, while the other thread tokenises or decides.
    self._one_batch_at_a_time = threading.Lock()

  def answer(self, examples: Sequence[bytes], batch_size: int) -> Dict[str, np.ndarray]:
    """The OUTPUTS [N, 1], as the examples signatures give them, for N serialized
    questions. Tokenising and deciding take the whole lot at once; the network runs on
    batch_size windows at a time, shortest first by token count, each batch cut to its
    own longest window, so that padding costs next to nothing."""
    examples = tf.constant(list(examples), tf.string)
    windows = {name: np.asarray(tensor) for name, tensor in self._inputs(examples=examples).items()}
    tokens = windows[PADDING_MASK].sum(axis=1)
    batches = length_batches.shortest_first(tokens, batch_size)
    searched = []
    for rows in batches:
      width = tokens[rows].max()
      feeds = {name: np.ascontiguousarray(values[rows, :width]) for name, values in windows.items()}
      with self._one_batch_at_a_time:
        searched.append(dict(zip(onnx_spans.OUTPUTS, self.session.run(list(onnx_spans.OUTPUTS), feeds))))
    searched = length_batches.in_input_order(batches, searched)
    answers = self._answers(examples=examples, **{name: tf.constant(values) for name, values in searched.items()})
    return {name: np.asarray(values) for name, values in answers.items()}
