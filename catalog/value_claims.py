"""One value, one attribute: a value the model finds for two attributes of the same row
fills only one of them, unless the catalog shows those two attributes sharing a value.

A span of a product's text is rarely the value of two of its attributes: "10K" in a disk's
title is its rotational speed, not also its bus speed. The model answers each attribute on
its own and so confuses attributes whose values look alike; the row decides. Values are
the same when their keys are (catalog/vocabulary.value_key: case, spacing, punctuation).

- Sharing is learned from the catalog's known values: two attributes share values when some
  row knows the same value for both (Brand and Manufacturer, Width and Depth). Every other
  pair is exclusive, also a pair no row knows both of: a value found twice is then held by
  the surer attribute and goes to the review queue for the other.
- Who claims first: a value the row already knows; then a fill whose value is in its
  attribute's vocabulary (the catalog knows "10K" as a rotational speed, never as a bus
  speed), the catalog's own evidence of where a value belongs; then the other fills. Within
  each, the most confident first (the model's confidences are not comparable across
  attributes, so they only break ties of evidence); equal ones go to the attribute named
  first.
"""
import itertools
from typing import Collection, Dict, Iterable, Iterator, Mapping, Optional, Tuple

from catalog import questions as cq
from catalog.vocabulary import value_key

Pair = Tuple[str, str]   # two attribute names, sorted


def known_keys(row, attributes, markers: frozenset) -> Dict[str, set]:
  """{attribute: the keys of the values the row knows for it} (questions.stated_values)."""
  known = {}
  for attribute, value in cq.stated_values(row, attributes, markers):
    known.setdefault(attribute, set()).add(value_key(value))
  return known


def shared_pairs(known: Mapping[str, set]) -> Iterator[Pair]:
  """Each pair of attributes for which a row knows the same value (known: known_keys(row))."""
  for a, b in itertools.combinations(sorted(known), 2):
    if known[a] & known[b]:
      yield a, b


def claimed(fills: Mapping[str, Tuple[str, bool, float]], known: Mapping[str, Iterable[str]],
            shared: Collection[Pair]) -> Dict[str, str]:
  """{attribute: the attribute holding its value} for each fill that another attribute of
  the row claims. fills: {attribute: (value, in its vocabulary, confidence)}, the values
  the row would be filled with; known: known_keys(row); shared: the pairs that may hold the
  same value."""
  holders: Dict[str, list] = {}   # value key -> attributes holding it, in claiming order
  for attribute, keys in known.items():
    for key in keys:
      holders.setdefault(key, []).append(attribute)
  order = sorted(fills, key=lambda a: (not fills[a][1], -fills[a][2]))   # stable: ties keep the fills' order
  taken = {}
  for attribute in order:
    key = value_key(fills[attribute][0])
    holder = _exclusive_holder(attribute, holders.get(key, ()), shared)
    if holder is None:
      holders.setdefault(key, []).append(attribute)
    else:
      taken[attribute] = holder
  return taken


def _exclusive_holder(attribute: str, holders: Iterable[str], shared: Collection[Pair]) -> Optional[str]:
  for holder in holders:
    if holder != attribute and tuple(sorted((attribute, holder))) not in shared:
      return holder
  return None
