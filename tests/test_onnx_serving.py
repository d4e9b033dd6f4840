"""How ONNX serving is called by Beam (serving/onnx_serving.py)."""
import threading
import time

import numpy as np

from serving import onnx_spans
from serving.onnx_serving import OnnxServing


class _Session:
  """Records how many runs overlap."""

  def __init__(self):
    self.running, self.most, self.guard = 0, 0, threading.Lock()

  def run(self, outputs, feeds):
    with self.guard:
      self.running += 1
      self.most = max(self.most, self.running)
    time.sleep(0.05)
    with self.guard:
      self.running -= 1
    return [np.zeros(len(feeds['token_ids'])) for _ in outputs]


def test_bundle_threads_run_one_batch_at_a_time():
  """Beam's bundle threads share one model: its session, whose threads already use every
  core, runs one batch at a time, while the rest of each call goes on in parallel."""
  served = OnnxServing.__new__(OnnxServing)
  served.session = session = _Session()
  served._one_batch_at_a_time = threading.Lock()
  served._inputs = lambda examples: {'token_ids': np.zeros((len(examples), 4), np.int32)}
  answered = []
  served._answers = lambda examples, **searched: answered.append(sorted(searched)) or {}
  threads = [threading.Thread(target=served.examples, args=(['a', 'b'],)) for _ in range(4)]
  for thread in threads:
    thread.start()
  for thread in threads:
    thread.join()
  assert session.most == 1
  assert answered == [sorted(onnx_spans.OUTPUTS)] * 4
