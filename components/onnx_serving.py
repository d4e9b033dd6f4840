"""The exported model with its encoder on ONNX Runtime.

Per batch: the SavedModel's onnx_encoder_inputs endpoint tokenises the serialized
questions (the Transform graph, long titles split into windows), ONNX Runtime runs the
encoder graph of the chosen precision (model/onnx_encoder.py), and the onnx_answers
endpoint applies AVEQA's heads and the same decoding as the TensorFlow signatures.
"""
import os
from typing import Dict

import numpy as np
import tensorflow as tf

from components import preprocessing as p
from components.serving_contract import ONNX_ANSWERS, ONNX_FILES, ONNX_INPUTS, NotExported
from model import onnx_encoder


def session(model_bytes: bytes):
  """A CPU inference session, one intra-op thread per physical core (ONNX Runtime's default)."""
  import onnxruntime as ort
  options = ort.SessionOptions()
  options.inter_op_num_threads = 1   # the graph is one chain of kernels
  return ort.InferenceSession(model_bytes, options, providers=['CPUExecutionProvider'])


class OnnxServing:
  """Answers as inference.SavedModelServing does, with the encoder on ONNX Runtime."""

  def __init__(self, loaded, saved_model_dir: str, precision: str):
    missing = {ONNX_INPUTS, ONNX_ANSWERS} - set(loaded.signatures)
    path = os.path.join(saved_model_dir, ONNX_FILES[precision])
    if missing or not tf.io.gfile.exists(path):
      raise NotExported(f'{saved_model_dir} has no ONNX encoder ({ONNX_FILES[precision]}, endpoints '
                       f'{ONNX_INPUTS}, {ONNX_ANSWERS}): exported before ONNX serving existed? '
                       'Serve it with --runtime tensorflow, or re-export it')
    self.loaded = loaded
    self.name = f'onnx_{precision}'
    self._inputs, self._answers = loaded.signatures[ONNX_INPUTS], loaded.signatures[ONNX_ANSWERS]
    with tf.io.gfile.GFile(path, 'rb') as f:
      self.session = session(f.read())

  def examples(self, examples) -> Dict[str, tf.Tensor]:
    """Outputs for serialized tf.Examples (title, attribute) [B], each [B, 1] as the
    examples signatures give them."""
    feeds = {name: np.asarray(tensor) for name, tensor in self._inputs(examples=examples).items()}
    hidden = self.session.run([onnx_encoder.OUTPUT], feeds)[0]
    return self._answers(examples=examples, sequence_output=tf.constant(hidden))

  def raw(self, title, attribute) -> Dict[str, tf.Tensor]:
    """Outputs [B] for title and attribute strings [B]."""
    def feature(text):
      return tf.train.Feature(bytes_list=tf.train.BytesList(value=[text]))
    examples = [tf.train.Example(features=tf.train.Features(feature={
        p.TITLE: feature(t), p.ATTRIBUTE: feature(a)})).SerializeToString()
                for t, a in zip(np.asarray(title).tolist(), np.asarray(attribute).tolist())]
    return {k: v[:, 0] for k, v in self.examples(tf.constant(examples, tf.string)).items()}
