"""Which attributes each product category has, so that a product is asked (and mined) only
for the attributes of its category: a shoe is not asked its "Processor Type".

A catalog's category column (default `category` when the catalog has one) names each
row's category. Which attributes a category has is either

  learned   from the catalog's known values: an attribute applies to a category when at
            least `min_share` of the category's rows, and at least MIN_KNOWN_ROWS rows,
            know it (a value, or a no-value marker such as "n/a": the attribute exists,
            the product lacks it). A seller's odd value on one row is not evidence.
  given     by the user's table (--attribute-map, CSV with the header category,attribute).

A row whose category is missing, blank, or not in the table is asked nothing: filling
attributes of a product of unknown kind is how a catalog gets wrong facets. Such rows are
counted in the run's summary. Without a category column every target attribute is asked of
every row, as before.
"""
import csv
import dataclasses
import io
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

import pyarrow as pa

DEFAULT_COLUMN = 'category'
MIN_KNOWN_ROWS = 2
ROWS = ''   # the key counting a category's rows, beside its attributes' known counts


def category_of(row, column: str) -> Optional[str]:
  """The row's category, stripped; None when missing or blank."""
  value = row.get(column)
  if not isinstance(value, str) or not value.strip():
    return None
  return value.strip()


def _is_text(field_type) -> bool:
  if pa.types.is_dictionary(field_type):
    field_type = field_type.value_type
  return pa.types.is_string(field_type) or pa.types.is_large_string(field_type)


def category_column(schema: pa.Schema, column: str) -> str:
  """The category column in use: '' turns categories off, DEFAULT_COLUMN is used when the
  catalog has it; any other name must be a column. A ValueError when it is missing or does
  not hold text."""
  if not column or (column == DEFAULT_COLUMN and column not in schema.names):
    return ''
  if column not in schema.names:
    raise ValueError(f'--category-column {column}: the catalog has no such column '
                     f'(it has {", ".join(schema.names)}); pass --category-column "" for none')
  field_type = schema.field(column).type
  if not _is_text(field_type):
    raise ValueError(f'category column {column!r} holds {field_type}, not text: a category is a '
                     'name such as "Jewelry"')
  return column


def learn(counts: Mapping[Tuple[str, str], int], attributes: Sequence[str],
          min_share: float) -> Dict[str, Tuple[str, ...]]:
  """{category: its attributes} from {(category, attribute): rows knowing it} and
  {(category, ROWS): rows}."""
  learned = {}
  for (category, key), rows in counts.items():
    if key == ROWS:
      learned[category] = tuple(
          a for a in attributes
          if counts.get((category, a), 0) >= max(MIN_KNOWN_ROWS, min_share * rows))
  return dict(sorted(learned.items()))


def rules_from_counts(counts, attributes: Sequence[str], column: str,
                      min_share: float) -> Tuple['CategoryRules', str]:
  """The rules learned from known counts (known_counts summed), and a note for the summary.
  A catalog that knows no value of any target attribute gives nothing to learn from: every
  target attribute is then asked of every row, and the note says so."""
  if not any(key != ROWS for _, key in counts):
    return CategoryRules(tuple(attributes)), (
        f'categories not used: the catalog knows no value of any target attribute, so which '
        f'attributes its {column!r} categories have cannot be learned (give --attribute-map)')
  return CategoryRules(tuple(attributes), column, learn(counts, attributes, min_share)), ''


def read_attribute_map(text: str, source: str, attributes: Sequence[str]) -> Dict[str, Tuple[str, ...]]:
  """{category: attributes} from CSV text with the header category,attribute. A ValueError
  naming the line for a malformed line or an attribute that is not a target attribute."""
  reader = csv.reader(io.StringIO(text))
  header = [h.strip().lower() for h in next(reader, [])]
  if header != ['category', 'attribute']:
    raise ValueError(f'{source}: line 1 must be the header "category,attribute", not {",".join(header)!r}')
  known, table = set(attributes), {}
  for number, fields in enumerate(reader, start=2):
    if not any(f.strip() for f in fields):
      continue
    if len(fields) != 2 or not all(f.strip() for f in fields):
      raise ValueError(f'{source}: line {number}: expected "category,attribute", got {",".join(fields)!r}')
    category, attribute = (f.strip() for f in fields)
    if attribute not in known:
      raise ValueError(f'{source}: line {number}: {attribute!r} is not a target attribute '
                       f'({", ".join(attributes)})')
    table.setdefault(category, [])
    if attribute not in table[category]:
      table[category].append(attribute)
  if not table:
    raise ValueError(f'{source}: no category,attribute line')
  return {c: tuple(a for a in attributes if a in names) for c, names in sorted(table.items())}


@dataclasses.dataclass(frozen=True)
class CategoryRules:
  """The attributes asked of each row. column '': every target attribute of every row."""
  attributes: Tuple[str, ...]
  column: str = ''
  applicable: Mapping[str, Tuple[str, ...]] = dataclasses.field(default_factory=dict)

  def attributes_of(self, row) -> Tuple[str, ...]:
    if not self.column:
      return self.attributes
    category = category_of(row, self.column)
    return self.applicable.get(category, ()) if category else ()

  def to_json(self) -> dict:
    return {'attributes': list(self.attributes), 'column': self.column,
            'applicable': {c: list(a) for c, a in self.applicable.items()}}

  @classmethod
  def from_json(cls, data: dict) -> 'CategoryRules':
    return cls(tuple(data['attributes']), data.get('column', ''),
               {c: tuple(a) for c, a in data.get('applicable', {}).items()})


def known_counts(row, column: str, attributes: Iterable[str], is_known) -> List[Tuple[Tuple[str, str], int]]:
  """((category, ROWS), 1) and ((category, attribute), 1) per attribute the row knows; [] for
  a row without a category."""
  category = category_of(row, column)
  if category is None:
    return []
  return [((category, ROWS), 1)] + [((category, a), 1) for a in attributes if is_known(row, a)]
