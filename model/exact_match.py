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

"The same value" is one rule for the whole project: equal after collapsing whitespace runs,
trimming and folding case. The gate, the value threshold's tuning and the mining of a
catalog's known values (catalog/span_alignment.py: case and spacing insensitive) all
use it, so a catalog's "Black" and a title's "BLACK" are the same value everywhere. A gold
value may have several surface forms (a tuple): a prediction equal to any of them is right.
fold_case=False gives the strict variant, for comparisons with case-sensitive papers.
"""
import collections
import dataclasses
from typing import Dict, Iterable, Optional, Sequence, Tuple, Union

NULL_VALUE = 'NULL'
Gold = Union[None, str, Sequence[str]]   # a value, or its surface forms; None / 'NULL': no value


def normalize(value: Optional[str], fold_case: bool = True) -> str:
  """'' for NULL/empty, else the value with whitespace collapsed."""
  if value is None:
    return ''
  text = ' '.join(value.split())
  if text == NULL_VALUE:
    return ''
  return text.casefold() if fold_case else text


OUTCOMES = ('nn', 'nv', 'vn', 'vc', 'vw')


def gold_forms(gold: Gold, fold_case: bool = True) -> Tuple[str, ...]:
  """The normalised surface forms of a gold value; () for no value."""
  forms = (gold,) if gold is None or isinstance(gold, str) else tuple(gold)
  return tuple(f for f in (normalize(g, fold_case) for g in forms) if f)


def same_value(predicted: Optional[str], gold: Gold, fold_case: bool = True) -> bool:
  """Whether a predicted value is the gold value (any of its surface forms)."""
  value = normalize(predicted, fold_case)
  return bool(value) and value in gold_forms(gold, fold_case)


def outcome(gold: Gold, predicted: Optional[str], fold_case: bool = True) -> str:
  """Which of the five counters one triple falls in."""
  if not gold_forms(gold, fold_case):
    return 'nv' if normalize(predicted, fold_case) else 'nn'
  if not normalize(predicted, fold_case):
    return 'vn'
  return 'vc' if same_value(predicted, gold, fold_case) else 'vw'


@dataclasses.dataclass
class Counts:
  nn: int = 0
  nv: int = 0
  vn: int = 0
  vc: int = 0
  vw: int = 0

  def add(self, gold: Gold, predicted: Optional[str], fold_case: bool = True):
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


def score(triples: Iterable[Tuple[str, Gold, Optional[str]]],
          fold_case: bool = True) -> Tuple[Counts, Dict[str, Counts]]:
  """Micro counts overall and per attribute from (attribute, gold, predicted) triples."""
  overall = Counts()
  per_attribute = collections.defaultdict(Counts)
  for attribute, gold, predicted in triples:
    overall.add(gold, predicted, fold_case)
    per_attribute[attribute].add(gold, predicted, fold_case)
  return overall, dict(per_attribute)
