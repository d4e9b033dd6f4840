"""Where an attribute value lies in its product title, in UTF-8 byte offsets.

AE-pub values are copied from their titles, so an exact match is the rule; marketplace
text still brings case and spacing differences ("rose gold" vs "Rose  Gold"). Byte
offsets (not characters) because tensorflow-text reports token offsets in bytes, and
that is how Transform turns this span into begin/end token positions.
"""
import re
from typing import Optional, Tuple

NULL_VALUE = 'NULL'


def _flexible_pattern(value: str) -> str:
  """Regex for value with any run of whitespace between its words."""
  return r'\s+'.join(re.escape(word) for word in value.split())


_CASE_CHANGE = r'(?-i:(?<=[a-z])(?=[A-Z]))'


def _patterns(value: str):
  """Candidate patterns, most trusted first.

  A whole-word match beats a match inside a longer word: "Men" must align with
  "Men" in "Women Men Shoes", not with the tail of "Women".
  """
  exact, flexible = re.escape(value), _flexible_pattern(value)
  # An end of the value that is a word character must meet a non-word character or a
  # lower-to-upper case change (scraped text glues fields: "COLOR: BlackALTERNATE ITEM");
  # an end that is not ('36"', '(2)') needs no boundary: '36"' is whole in '36"W'.
  before = rf'(?:(?<!\w)|{_CASE_CHANGE})' if re.match(r'\w', value) else ''
  after = rf'(?:(?!\w)|{_CASE_CHANGE})' if re.search(r'\w$', value) else ''
  whole = lambda p: before + p + after
  yield re.compile(whole(exact))
  yield re.compile(exact)
  yield re.compile(whole(flexible), re.IGNORECASE)
  yield re.compile(flexible, re.IGNORECASE)


def find_value_span(title: str, value: str) -> Optional[Tuple[int, int]]:
  """Byte span [start, end) of value in title, or None when it cannot be found.

  None also for an empty or NULL value: there is nothing to align.
  """
  if not value or not value.strip() or value == NULL_VALUE:
    return None
  for pattern in _patterns(value.strip()):
    match = pattern.search(title)
    if match:
      start = len(title[:match.start()].encode('utf-8'))
      return start, start + len(match.group(0).encode('utf-8'))
  return None


def without_value(text: str, value: str) -> Optional[str]:
  """The text with every occurrence of value removed, case and space insensitive: its
  whole-word occurrences, or when it has none the occurrences inside longer words (as
  find_value_span falls back to them); runs of space collapsed. None when the value does
  not occur, or when no word of the text would be left."""
  value = value.strip()
  if find_value_span(text, value) is None:
    return None
  whole, anywhere = list(_patterns(value))[2:]
  removed, count = whole.subn(' ', text)
  if not count:
    removed = anywhere.sub(' ', text)
  rest = ' '.join(removed.split())
  return rest if rest and has_letters_or_digits(rest) else None


# Text rules shared by the triples (training) and the catalog (inference), so the model
# reads titles cleaned the same way in both.

# Control characters (C0, DEL, C1; tab and stray line breaks among them) are never part of
# an attribute value: scraped titles carry them as leftovers of markup or of other files.
# They are replaced by a space rather than removed, so that words they separated stay
# apart ("Red\x00Shoes" -> "Red Shoes"). The byte-order mark counts as one: editors leave
# it at the start of a file, where it would stick to the first title.
_CONTROL_CHARACTERS = re.compile('[\x00-\x1f\x7f-\x9f\ufeff]')
_LETTER_OR_DIGIT = re.compile(r'[^\W_]')


def without_control_characters(text: str) -> str:
  return _CONTROL_CHARACTERS.sub(' ', text)


def has_letters_or_digits(text: str) -> bool:
  """False for text such as "🔥🔥🔥" or "!!!": a value is a span of the text's words,
  so text without any has no value to give (the model would answer with the symbols)."""
  return bool(_LETTER_OR_DIGIT.search(text))
