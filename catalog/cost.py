"""What the catalog step costs: the CPU-seconds of its three components (questions,
inference, writer), and per million questions and per million filled values.

Each component measures its own process's CPU time (user and system, every thread, and
the child processes it waited for) around its Beam pipeline, and keeps it in the JSON
summary it writes. On the local runner (one process, in memory: serving/config.py) that is
the whole work of the step; on Dataflow the work runs on workers no component sees, and
the job's own resource metrics are the bill (docs/deployment.md).
"""
import json
import os
import resource

import tensorflow as tf

from catalog import files

CPU_SECONDS = 'cpu_seconds'
PARTS = ('questions', 'inference', 'writer')


def _process_cpu() -> float:
  own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
  return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


class CpuTime:
  """`with CpuTime() as spent:` ... then spent.seconds: the process's CPU-seconds inside."""

  def __enter__(self):
    self._start, self.seconds = _process_cpu(), None
    return self

  def __exit__(self, *exc):
    self.seconds = _process_cpu() - self._start


def add_to(folder: str, name: str, seconds: float):
  """Records the CPU-seconds in the JSON summary `name` a component wrote in its folder."""
  summary = files.read_json(folder, name)
  summary[CPU_SECONDS] = round(seconds, 2)
  with tf.io.gfile.GFile(os.path.join(folder, name), 'w') as f:
    json.dump(summary, f, indent=2)


def per_million(seconds: float, count: int):
  return round(seconds * 1e6 / count, 1) if count else None


def catalog_step(parts: dict, questions: int, filled: int) -> dict:
  """The step's cost from each part's CPU-seconds (None: not measured, as in a summary
  written before costs were kept; the total then covers the parts measured)."""
  measured = {part: parts.get(part) for part in PARTS}
  if all(s is None for s in measured.values()):
    return {'cpu_seconds': dict(measured, total=None), 'complete': False,
            'per_million_questions': None, 'per_million_filled': None}
  total = sum(s for s in measured.values() if s is not None)
  return {'cpu_seconds': dict(measured, total=round(total, 2)),
          'complete': all(s is not None for s in measured.values()),
          'per_million_questions': per_million(total, questions),
          'per_million_filled': per_million(total, filled)}
