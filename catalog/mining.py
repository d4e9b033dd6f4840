"""Labels from the values a catalog already knows.

Sellers fill some attributes of some rows. For each accepted catalog row and each
attribute of its category (catalog/categories.py) whose column holds a value
(catalog_questions.is_known), the row's text (the title, plus the description with
--use-description) gives a training triple:

  the value occurs in the text   an aligned example, by the same alignment as labelled
                                 triples (span_alignment.find_value_span: exact, whole
                                 word, case and space insensitive)
  it does not                    known_not_in_text='null': a "no value" example, since the
                                 text does not state it; 'skip': no example, for catalogs
                                 whose values are normalised forms or synonyms of what the
                                 text says ("Stainless Steel" for "steel")
  a no-value marker ("n/a")      a "no value" example: the catalog says the product has no
                                 such value (--no-value-tokens)
  it is not a label              no example: a number or other non-text cell, or text
                                 without a letter or digit ("-")

Known values are all stated values, so without markers a catalog gives no "no value"
example. With value-removed negatives, each aligned example also gives one: the same text
with every occurrence of the value removed, a product that does not state it
(span_alignment.without_value). It lands on the same side of the split as its product.

A cell with several values (a list column, or text with ';' or '|' between values) gives
the first of its values that the text holds, and counts as "not in text" when none is.
"""
import hashlib
import re
from typing import Iterator, List, Optional, Sequence, Tuple

from catalog import questions as cq
from catalog.span_alignment import NULL_VALUE, find_value_span, has_letters_or_digits, without_value
from catalog.triples import Triple
from catalog.config import KNOWN_NOT_IN_TEXT
ALIGNED, NOT_IN_TEXT_NULL, NOT_IN_TEXT_SKIPPED, NOT_A_LABEL, NO_VALUE_MARKER = (
    'aligned', 'not_in_text_as_null', 'not_in_text_skipped', 'not_a_label', 'no_value_marker')
OUTCOMES = (ALIGNED, NOT_IN_TEXT_NULL, NOT_IN_TEXT_SKIPPED, NOT_A_LABEL, NO_VALUE_MARKER)
# What an aligned example's value-removed negative gave: a "no value" example, or none
# (nothing of the text would be left).
VALUE_REMOVED, NOT_REMOVABLE = 'value_removed', 'value_not_removable'
NEGATIVE_OUTCOMES = (VALUE_REMOVED, NOT_REMOVABLE)
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


def is_no_value_marker(cell, tokens: Sequence[str]) -> bool:
  """A text cell that says the product has no such value ("n/a"), in any case."""
  return isinstance(cell, str) and cell.strip().casefold() in {t.casefold() for t in tokens}


def mined_triples(row, attributes, use_description: bool, known_not_in_text: str,
                  no_value_tokens: Sequence[str] = (), value_removed_negatives: bool = False,
                  ) -> Iterator[Tuple[str, str, Optional[Triple]]]:
  """(attribute, outcome, triple or None) for each of the attributes the row knows; an
  aligned triple is followed by its negative's (attribute, NEGATIVE_OUTCOMES, triple or None)
  when value_removed_negatives."""
  if known_not_in_text not in KNOWN_NOT_IN_TEXT:
    raise ValueError(f'known_not_in_text must be one of {KNOWN_NOT_IN_TEXT}, not {known_not_in_text!r}')
  text = cq.context_of(row, use_description)
  for attribute in attributes:
    if not cq.is_known(row, attribute):
      continue
    cell = row.get(attribute)
    if is_no_value_marker(cell, no_value_tokens):
      yield attribute, NO_VALUE_MARKER, Triple(text, attribute, NULL_VALUE, None)
      continue
    values = cell_values(cell)
    if values is None:
      yield attribute, NOT_A_LABEL, None
      continue
    found = next(((v, span) for v in values for span in [find_value_span(text, v)] if span), None)
    if found:
      yield attribute, ALIGNED, Triple(text, attribute, found[0], found[1])
      if value_removed_negatives:
        rest = without_value(text, found[0])
        yield attribute, *((VALUE_REMOVED, Triple(rest, attribute, NULL_VALUE, None)) if rest
                           else (NOT_REMOVABLE, None))
    elif known_not_in_text == 'null':
      yield attribute, NOT_IN_TEXT_NULL, Triple(text, attribute, NULL_VALUE, None)
    else:
      yield attribute, NOT_IN_TEXT_SKIPPED, None
