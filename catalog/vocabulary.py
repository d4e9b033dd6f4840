"""Values in the catalog's own spelling.

Each attribute's vocabulary is the set of values the catalog already knows for it. An
extracted span becomes the vocabulary's spelling of the same value:

  1. by key: spans and known values compared with case, spacing and punctuation removed
     (value_key), so "BLACK", "16 gb" and "stainless-steel" become "Black", "16GB" and
     "Stainless Steel" when that is how the catalog writes them;
  2. by alias: a user's table (--value-aliases, CSV attribute,alias,value), and aliases learned
     from the catalog itself: known cells are asked again (alias probes), and where the span
     the model reads differs from the value the catalog holds ("HP" for "Hewlett-Packard",
     "10K" for "10000"), the pair is an alias once it is seen often enough and the span
     means that value most of the time.

A span with no match keeps the text's spelling and is marked as outside the vocabulary
(the review queue shows those first). The user's table wins over learned aliases.
"""
import collections
import csv
import io
import re
import unicodedata
from typing import Dict, Iterable, Optional, Sequence, Tuple

import tensorflow as tf

# A learned alias needs this many probes where the span read stood for the value, and the
# value must be what that span stood for in more than this share of them.
MIN_ALIAS_SUPPORT = 2
MIN_ALIAS_SHARE = 0.5

# How a span became its value.
BY_KEY, BY_USER_ALIAS, BY_LEARNED_ALIAS, OUTSIDE = 'vocabulary', 'user alias', 'learned alias', 'outside vocabulary'
HOW = (BY_KEY, BY_USER_ALIAS, BY_LEARNED_ALIAS, OUTSIDE)

_NOT_WORD = re.compile(r'[\W_]+')


def value_key(text: str) -> str:
  """What two spellings of one value share: letters and digits, case folded (NFKC first,
  so full-width and compatibility forms match)."""
  return _NOT_WORD.sub('', unicodedata.normalize('NFKC', text or '').casefold())


class Vocabulary:
  """spelling: {attribute: {key: the catalog's spelling}}; aliases: {attribute: {key of an
  alias: (value, how)}}."""

  def __init__(self, spelling: Dict[str, Dict[str, str]], aliases: Dict[str, Dict[str, Tuple[str, str]]]):
    self.spelling, self.aliases = spelling, aliases

  def normalise(self, attribute: str, span: Optional[str]) -> Tuple[Optional[str], Optional[str]]:
    """(the value as the catalog writes it, how it was found: BY_KEY, BY_USER_ALIAS,
    BY_LEARNED_ALIAS or OUTSIDE); (None, None) for no span."""
    if not span:
      return None, None
    key = value_key(span)
    alias = self.aliases.get(attribute, {}).get(key)
    if alias and alias[1] == BY_USER_ALIAS:
      return alias
    if key in self.spelling.get(attribute, {}):
      return self.spelling[attribute][key], BY_KEY
    if alias:
      return alias
    return span, OUTSIDE

  def size(self) -> Dict[str, int]:
    return {'values': sum(len(v) for v in self.spelling.values()),
            'learned_aliases': sum(1 for a in self.aliases.values() for _, how in a.values() if how == BY_LEARNED_ALIAS),
            'user_aliases': sum(1 for a in self.aliases.values() for _, how in a.values() if how == BY_USER_ALIAS)}


def build(known_counts: Iterable[Tuple[Tuple[str, str], int]],
          probe_counts: Iterable[Tuple[Tuple[str, str, str], int]] = (),
          user_aliases: Optional[Dict[str, Dict[str, str]]] = None) -> Vocabulary:
  """known_counts: ((attribute, known value), rows); probe_counts: ((attribute, known
  value, span read), probes); user_aliases: read_aliases' table."""
  spellings: Dict[str, Dict[str, collections.Counter]] = {}
  for (attribute, value), n in known_counts:
    if value_key(value):
      spellings.setdefault(attribute, {}).setdefault(value_key(value), collections.Counter())[value.strip()] += n
  # The most frequent spelling of a key; ties: the first in sort order, so a run is reproducible.
  spelling = {a: {k: min(c.items(), key=lambda vc: (-vc[1], vc[0]))[0] for k, c in keys.items()}
              for a, keys in spellings.items()}
  meanings: Dict[Tuple[str, str], collections.Counter] = {}
  for (attribute, value, span), n in probe_counts:
    if value_key(span) and value_key(value):
      meanings.setdefault((attribute, value_key(span)), collections.Counter())[value_key(value)] += n
  aliases: Dict[str, Dict[str, Tuple[str, str]]] = {}
  for (attribute, span_key), counts in meanings.items():
    value_key_, n = min(counts.items(), key=lambda kc: (-kc[1], kc[0]))
    if (value_key_ != span_key and n >= MIN_ALIAS_SUPPORT and n > MIN_ALIAS_SHARE * sum(counts.values())
        and value_key_ in spelling.get(attribute, {})):
      aliases.setdefault(attribute, {})[span_key] = (spelling[attribute][value_key_], BY_LEARNED_ALIAS)
  for attribute, table in (user_aliases or {}).items():
    for alias, value in table.items():
      aliases.setdefault(attribute, {})[value_key(alias)] = (value, BY_USER_ALIAS)
  return Vocabulary(spelling, aliases)


ALIAS_COLUMNS = ('attribute', 'alias', 'value')


def parse_aliases(text: str, source: str, attributes: Sequence[str]) -> Dict[str, Dict[str, str]]:
  """{attribute: {alias: value}} of a user's alias table (CSV attribute,alias,value; a header
  line of those names is optional). Errors name the file and the line: a malformed line,
  an attribute that is not a target, an alias given two different values."""
  table: Dict[str, Dict[str, str]] = {}
  seen: Dict[Tuple[str, str], Tuple[str, int]] = {}   # (attribute, alias key): (value, line)
  for number, fields in enumerate(csv.reader(io.StringIO(text)), start=1):
    if not any(f.strip() for f in fields):
      continue
    if number == 1 and tuple(f.strip().lower() for f in fields) == ALIAS_COLUMNS:
      continue
    if len(fields) != 3 or not all(f.strip() for f in fields):
      raise ValueError(f'--value-aliases {source}, line {number}: expected attribute,alias,value, '
                       f'got {",".join(fields)!r}')
    attribute, alias, value = (f.strip() for f in fields)
    if attribute not in attributes:
      raise ValueError(f'--value-aliases {source}, line {number}: {attribute!r} is not a target '
                       f'attribute ({", ".join(sorted(attributes))})')
    earlier = seen.setdefault((attribute, value_key(alias)), (value, number))
    if earlier[0] != value:
      raise ValueError(f'--value-aliases {source}, line {number}: {alias!r} of {attribute!r} is '
                       f'{value!r} here and {earlier[0]!r} on line {earlier[1]}')
    table.setdefault(attribute, {})[alias] = value
  return table


def read_aliases(path: str, attributes: Sequence[str]) -> Dict[str, Dict[str, str]]:
  """parse_aliases of a file (local or gs://); {} for no path."""
  if not path:
    return {}
  if not tf.io.gfile.exists(path):
    raise FileNotFoundError(f'--value-aliases {path}: no such file')
  with tf.io.gfile.GFile(path) as f:
    return parse_aliases(f.read(), path, attributes)
