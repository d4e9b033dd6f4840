"""Deterministic train/eval split rules for labelled triples (configuration, not code).

  random     each triple independently, by a seeded hash of the whole line (the
             paper's random 80/20 split of AE-pub)
  grouped    all triples of one title on the same side: near-duplicate titles make
             random-split scores on AE-pub optimistic; this is the leakage-free view
  zero_shot  every triple of the held-out attributes goes to eval, the rest to train
             (AE-zero-shot)

A hash instead of a shuffle keeps the rule a pure function of the line, so the split
is the same on one machine or on Dataflow, in any order.
"""
import dataclasses
import hashlib
from typing import Tuple

TRAIN, EVAL = 'train', 'eval'
RULES = ('random', 'grouped', 'zero_shot')


@dataclasses.dataclass(frozen=True)
class SplitRule:
  rule: str
  seed: int
  eval_percent: int
  held_out_attributes: Tuple[str, ...]

  def __post_init__(self):
    if self.rule not in RULES:
      raise ValueError(f'unknown split rule {self.rule!r}; choose one of {", ".join(RULES)}')
    if not 0 < self.eval_percent < 100:
      raise ValueError(f'eval_percent must be between 1 and 99, got {self.eval_percent}')

  def _bucket(self, key: str) -> int:
    digest = hashlib.sha256(f'{self.seed}\u0001{key}'.encode('utf-8')).digest()
    return int.from_bytes(digest[:8], 'big') % 100

  def split_of(self, line: str, title: str, attribute: str) -> str:
    if self.rule == 'zero_shot':
      return EVAL if attribute in self.held_out_attributes else TRAIN
    key = title if self.rule == 'grouped' else line
    return EVAL if self._bucket(key) < self.eval_percent else TRAIN

  def split_of_product(self, product_id: str, attribute: str) -> str:
    """A triple mined from a catalog row: all of a product's triples on one side (random
    and grouped alike), so no product is in train and eval at once."""
    if self.rule == 'zero_shot':
      return EVAL if attribute in self.held_out_attributes else TRAIN
    return EVAL if self._bucket('product\u0001' + product_id) < self.eval_percent else TRAIN
