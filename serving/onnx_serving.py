"""The exported model with its network on ONNX Runtime.

Per batch: the onnx_encoder_inputs endpoint tokenises the serialized questions (the
Transform graph, long titles split into windows), ONNX Runtime runs the graph of the
chosen precision (the encoder, AVEQA's heads and the span search per window: serving/
onnx_encoder.py, serving/onnx_spans.py), and the onnx_answers endpoint takes the same
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
from typing import Dict

import numpy as np
import tensorflow as tf

from model import features as p
from serving.contract import ONNX_ANSWERS, ONNX_ENDPOINTS, ONNX_FILES, ONNX_INPUTS, NotExported
from serving import onnx_spans


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

  def examples(self, examples) -> Dict[str, tf.Tensor]:
    """Outputs for serialized tf.Examples (title, attribute) [B], each [B, 1] as the
    examples signatures give them."""
    feeds = {name: np.asarray(tensor) for name, tensor in self._inputs(examples=examples).items()}
    with self._one_batch_at_a_time:
      searched = self.session.run(list(onnx_spans.OUTPUTS), feeds)
    return self._answers(examples=examples, **{name: tf.constant(value)
                                                for name, value in zip(onnx_spans.OUTPUTS, searched)})

  def raw(self, title, attribute) -> Dict[str, tf.Tensor]:
    """Outputs [B] for title and attribute strings [B]."""
    def feature(text):
      return tf.train.Feature(bytes_list=tf.train.BytesList(value=[text]))
    examples = [tf.train.Example(features=tf.train.Features(feature={
        p.TITLE: feature(t), p.ATTRIBUTE: feature(a)})).SerializeToString()
                for t, a in zip(np.asarray(title).tolist(), np.asarray(attribute).tolist())]
    return {k: v[:, 0] for k, v in self.examples(tf.constant(examples, tf.string)).items()}
