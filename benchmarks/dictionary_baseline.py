"""The trivial baseline: for each attribute, the longest value seen in training that
occurs in the title (whole word, case kept); "no value" when none does."""
import collections
import re


def train_dictionary(train_rows):
  values = collections.defaultdict(set)
  for _, attribute, value in train_rows:
    if value != 'NULL':
      values[attribute].add(value)
  return {a: sorted(v, key=len, reverse=True) for a, v in values.items()}


def predict(dictionary, title, attribute):
  for value in dictionary.get(attribute, ()):
    if re.search(r'(?<!\w)' + re.escape(value) + r'(?!\w)', title):
      return value
  return None
