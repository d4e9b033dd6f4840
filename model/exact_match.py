"""The exact-match metric of attribute value extraction, in one place.

Each (product, attribute) triple falls in one of five counters, as in MAVE's
benchmark code and the AVEQA / OpenTag papers:

  NN  gold NULL,  predicted NULL          no credit, no penalty
  NV  gold NULL,  a value predicted       false positive
  VN  gold value, predicted NULL          false negative
  VC  gold value, the same value          true positive
  VW  gold value, another value           counts against precision and recall

  precision = VC / (NV + VC + VW)      recall = VC / (VN + VC + VW)
  F1 = harmonic mean of the two (0 when both are 0)

"The same value" means equal after collapsing whitespace runs and trimming. Case is
NOT folded by default: extracted values are copied from the title, so a right span
has the right case; fold_case=True gives the lenient variant.
"""
import collections
import dataclasses
from typing import Dict, Iterable, Optional, Tuple

NULL_VALUE = 'NULL'


def normalize(value: Optional[str], fold_case: bool = False) -> str:
  """'' for NULL/empty, else the value with whitespace collapsed."""
  if value is None:
    return ''
  text = ' '.join(value.split())
  if text == NULL_VALUE:
    return ''
  return text.casefold() if fold_case else text


OUTCOMES = ('nn', 'nv', 'vn', 'vc', 'vw')


def outcome(gold: Optional[str], predicted: Optional[str], fold_case: bool = False) -> str:
  """Which of the five counters one triple falls in."""
  gold, predicted = normalize(gold, fold_case), normalize(predicted, fold_case)
  if not gold:
    return 'nv' if predicted else 'nn'
  if not predicted:
    return 'vn'
  return 'vc' if predicted == gold else 'vw'


@dataclasses.dataclass
class Counts:
  nn: int = 0
  nv: int = 0
  vn: int = 0
  vc: int = 0
  vw: int = 0

  def add(self, gold: Optional[str], predicted: Optional[str], fold_case: bool = False):
    counter = outcome(gold, predicted, fold_case)
    setattr(self, counter, getattr(self, counter) + 1)

  def merge(self, other: 'Counts') -> 'Counts':
    return Counts(*(a + b for a, b in zip(dataclasses.astuple(self), dataclasses.astuple(other))))

  @property
  def total(self) -> int:
    return self.nn + self.nv + self.vn + self.vc + self.vw

  @property
  def precision(self) -> float:
    denominator = self.nv + self.vc + self.vw
    return self.vc / denominator if denominator else 0.0

  @property
  def recall(self) -> float:
    denominator = self.vn + self.vc + self.vw
    return self.vc / denominator if denominator else 0.0

  @property
  def f1(self) -> float:
    p, r = self.precision, self.recall
    return 2 * p * r / (p + r) if p + r else 0.0

  def as_dict(self) -> Dict[str, float]:
    return {**dataclasses.asdict(self), 'total': self.total, 'precision': self.precision,
            'recall': self.recall, 'f1': self.f1}


def score(triples: Iterable[Tuple[str, Optional[str], Optional[str]]],
          fold_case: bool = False) -> Tuple[Counts, Dict[str, Counts]]:
  """Micro counts overall and per attribute from (attribute, gold, predicted) triples."""
  overall = Counts()
  per_attribute = collections.defaultdict(Counts)
  for attribute, gold, predicted in triples:
    overall.add(gold, predicted, fold_case)
    per_attribute[attribute].add(gold, predicted, fold_case)
  return overall, dict(per_attribute)
