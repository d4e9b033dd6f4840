"""Labels from the values a catalog already knows (issue 18).

Sellers fill some attributes of some rows. For each accepted catalog row and each target
attribute whose column holds a value (catalog_questions.is_known), the row's text (the
title, plus the description with --use-description) gives a training triple:

  the value occurs in the text   an aligned example, by the same alignment as labelled
                                 triples (span_alignment.find_value_span: exact, whole
                                 word, case and space insensitive)
  it does not                    known_not_in_text='null': a "no value" example, since the
                                 text does not state it; 'skip': no example, for catalogs
                                 whose values are normalised forms or synonyms of what the
                                 text says ("Stainless Steel" for "steel")
  it is not a label              no example: a number or other non-text cell, or text
                                 without a letter or digit ("-", "n/a" is text)

A cell with several values (a list column, or text with ';' or '|' between values) gives
the first of its values that the text holds, and counts as "not in text" when none is.
"""
import collections
import hashlib
import re
from typing import Iterator, List, Optional, Tuple

import tensorflow as tf

from components import catalog_questions as cq
from components import parquet_files
from components.span_alignment import NULL_VALUE, find_value_span, has_letters_or_digits
from components.triples import Triple
from pipelines.configs import KNOWN_NOT_IN_TEXT

ALIGNED, NOT_IN_TEXT_NULL, NOT_IN_TEXT_SKIPPED, NOT_A_LABEL = (
    'aligned', 'not_in_text_as_null', 'not_in_text_skipped', 'not_a_label')
OUTCOMES = (ALIGNED, NOT_IN_TEXT_NULL, NOT_IN_TEXT_SKIPPED, NOT_A_LABEL)
_SEPARATORS = re.compile(r'\s*[;|]\s*')


def cell_values(cell) -> Optional[List[str]]:
  """The label candidates a known cell holds, or None when it is not a label."""
  items = cell if isinstance(cell, list) else [cell]
  if not all(isinstance(item, str) or item is None for item in items):
    return None
  values = [v for item in items if item for v in _SEPARATORS.split(item.strip()) if v.strip()]
  values = [v for v in values if has_letters_or_digits(v) and v != NULL_VALUE]
  return values or None


def product_rank(seed: int, product_id: str) -> bytes:
  """Which products --max-mined-per-attribute keeps: the lowest seeded hashes of their ids,
  the same on every run and in any order."""
  return hashlib.sha256(f'{seed}\u0001{product_id}'.encode('utf-8')).digest()[:8]


def mined_triples(row, attributes, use_description: bool,
                  known_not_in_text: str) -> Iterator[Tuple[str, str, Optional[Triple]]]:
  """(attribute, outcome, triple or None) for each target attribute the row knows."""
  if known_not_in_text not in KNOWN_NOT_IN_TEXT:
    raise ValueError(f'known_not_in_text must be one of {KNOWN_NOT_IN_TEXT}, not {known_not_in_text!r}')
  text = cq.context_of(row, use_description)
  for attribute in attributes:
    if not cq.is_known(row, attribute):
      continue
    values = cell_values(row.get(attribute))
    if values is None:
      yield attribute, NOT_A_LABEL, None
      continue
    found = next(((v, span) for v in values for span in [find_value_span(text, v)] if span), None)
    if found:
      yield attribute, ALIGNED, Triple(text, attribute, found[0], found[1])
    elif known_not_in_text == 'null':
      yield attribute, NOT_IN_TEXT_NULL, Triple(text, attribute, NULL_VALUE, None)
    else:
      yield attribute, NOT_IN_TEXT_SKIPPED, None


def count_mined(catalog_pattern: str, attributes, use_description: bool, known_not_in_text: str,
                max_per_attribute: int, rule, split: str, reviewed=frozenset()) -> int:
  """Mined triples of one split that TriplesExampleGen will write, for an epoch-based
  budget: the same rows (those catalog_questions accepts: valid, with an id no other valid
  row has), rules, cap and split."""
  rows = [row for path in sorted(tf.io.gfile.glob(catalog_pattern))
          for row in parquet_files.read_columns(
              path, ['product_id', 'title', 'description', *attributes]).to_pylist()
          if not cq.row_problem(row)]
  ids = collections.Counter(str(row['product_id']) for row in rows)
  ranked = {}
  for row in rows:
    if ids[str(row['product_id'])] == 1:
      for attribute, _, triple in mined_triples(row, attributes, use_description, known_not_in_text):
        product_id = str(row['product_id'])
        if triple is not None and (product_id, attribute) not in reviewed:
          ranked.setdefault(attribute, []).append(
              (product_rank(rule.seed, product_id), rule.split_of_product(product_id, attribute)))
  kept = [sorted(r)[:max_per_attribute] if max_per_attribute else r for r in ranked.values()]
  return sum(s == split for r in kept for _, s in r)
