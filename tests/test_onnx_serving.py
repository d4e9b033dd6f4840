"""How ONNX serving runs the network (serving/onnx_serving.py): batches of windows sorted by
token count, each cut to its own longest, answers in input order, one batch at a time."""
import threading
import time

import numpy as np

from serving import onnx_spans
from serving.onnx_serving import OnnxServing


class _Session:
  """Records each run's feeds and how many runs overlap; answers each window with its
  first token id as 'begin' (so the caller's reordering can be checked)."""

  def __init__(self, pause=0.0):
    self.pause, self.feeds = pause, []
    self.running, self.most, self.guard = 0, 0, threading.Lock()

  def run(self, outputs, feeds):
    with self.guard:
      self.running += 1
      self.most = max(self.most, self.running)
      self.feeds.append(feeds)
    time.sleep(self.pause)
    with self.guard:
      self.running -= 1
    rows = len(feeds['token_ids'])
    return [feeds['token_ids'][:, 0] if name == 'begin' else np.zeros(rows) for name in outputs]


def _served(session, lengths):
  """OnnxServing without a model: window i of the lot has lengths[i] tokens, its first
  token id i, padded to the lot's longest."""
  served = OnnxServing.__new__(OnnxServing)
  served.session = session
  served._one_batch_at_a_time = threading.Lock()
  width = max(lengths)
  mask = np.array([[1] * n + [0] * (width - n) for n in lengths], np.int32)
  token_ids = mask * 1000
  token_ids[:, 0] = np.arange(len(lengths))
  served._inputs = lambda examples: {'token_ids': token_ids, 'segment_ids': np.zeros_like(mask),
                                     'padding_mask': mask}
  served._answers = lambda examples, **searched: searched
  return served


def test_the_network_runs_on_batches_of_windows_sorted_by_token_count():
  lengths = [9, 3, 12, 3, 7, 5, 12, 4, 6]
  session = _Session()
  answers = _served(session, lengths).answer([b'q'] * len(lengths), batch_size=4)
  widths = [feeds['padding_mask'].shape[1] for feeds in session.feeds]
  assert [len(feeds['token_ids']) for feeds in session.feeds] == [4, 4, 1]
  assert widths == [5, 12, 12]   # each batch cut to its own longest window
  for feeds in session.feeds:
    assert feeds['padding_mask'][:, -1].any()   # no column of padding alone
    assert all(f.flags['C_CONTIGUOUS'] for f in feeds.values())
  batches = [sorted(lengths[i] for i in feeds['token_ids'][:, 0]) for feeds in session.feeds]
  assert batches == [[3, 3, 4, 5], [6, 7, 9, 12], [12]]
  np.testing.assert_array_equal(answers['begin'], np.arange(len(lengths)))   # back in input order
  assert sorted(answers) == sorted(onnx_spans.OUTPUTS)


def test_bundle_threads_run_one_batch_at_a_time():
  """Beam's bundle threads share one model: its session, whose threads already use every
  core, runs one batch at a time, while the rest of each call goes on in parallel."""
  session = _Session(pause=0.05)
  served = _served(session, [2, 3])
  threads = [threading.Thread(target=served.answer, args=([b'a', b'b'], 1)) for _ in range(4)]
  for thread in threads:
    thread.start()
  for thread in threads:
    thread.join()
  assert len(session.feeds) == 8
  assert session.most == 1
