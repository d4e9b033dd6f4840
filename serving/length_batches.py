"""Rows in batches of about the same length, and their answers put back in input order.

A batch is padded to its own longest row: batches of rows sorted by length waste next to
no work on padding, whatever order the rows came in.
"""
from typing import Dict, List, Sequence

import numpy as np


def shortest_first(lengths: Sequence[int], batch_size: int) -> List[np.ndarray]:
  """The row indices of each batch: the rows sorted by length (ties keep their order),
  batch_size at a time."""
  order = np.argsort(np.asarray(lengths), kind='stable')
  return [order[start:start + batch_size] for start in range(0, len(order), batch_size)]


def in_input_order(batches: Sequence[np.ndarray], outputs: Sequence[Dict[str, np.ndarray]]) -> Dict[str, np.ndarray]:
  """{name: values of every row, in input order}, given each batch's row indices and its
  outputs (one value per row along the first axis)."""
  rows = np.concatenate(batches)
  restored = {}
  for name in outputs[0]:
    values = np.concatenate([np.asarray(batch[name]) for batch in outputs])
    restored[name] = np.empty_like(values)
    restored[name][rows] = values
  return restored
