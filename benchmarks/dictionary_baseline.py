"""The trivial baseline: for each attribute, the longest value seen in training that
occurs in the title (whole word, case kept); "no value" when none does. Among values of
one length the more frequent in training wins, then the alphabetically first, so the
answer never depends on hash order."""
import collections
import re


def train_dictionary(train_rows):
  values = collections.defaultdict(collections.Counter)
  for _, attribute, value in train_rows:
    if value != 'NULL':
      values[attribute][value] += 1
  return {a: sorted(counts, key=lambda v: (-len(v), -counts[v], v)) for a, counts in values.items()}


def predict(dictionary, title, attribute):
  for value in dictionary.get(attribute, ()):
    if re.search(r'(?<!\w)' + re.escape(value) + r'(?!\w)', title):
      return value
  return None
