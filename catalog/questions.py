"""Catalog rows -> one question per (product, missing attribute of its category), and a
quarantine.

The target attributes are --attributes, else the catalog's attribute columns. With a
category column, a row is asked only the attributes of its category (catalog/categories.py:
learned from the known values, or the user's table); the summary counts, per category, the
questions asked and those saved. The text asked is the title, then the description when
there is one (unless use_description is off).

A row is quarantined, with its reason, when its product_id is missing, blank or a
list, its title is missing, not text, blank or without any letter or digit, or its
product_id appears on more than one row (all rows of a duplicated id: the output is
keyed by id, so which row to keep cannot be decided for the user). Every row read is
either accepted or quarantined. Control characters in the title and description are
replaced by spaces in the text the model reads; the row's columns are kept unchanged.

Whole-file problems are errors naming the file, raised before the pipeline runs: no
file matches, a file is not Parquet, lacks product_id or title, or disagrees with the
others on the schema. A catalog with no rows is valid: nothing to fill, 0 rows counted.
"""
import dataclasses
import hashlib
import json
import logging
import os
import re
from typing import Tuple

import apache_beam as beam
import pyarrow as pa
import tensorflow as tf

from catalog import categories, files
from catalog.config import DataConfig, FillConfig
from catalog.span_alignment import has_letters_or_digits, without_control_characters

log = logging.getLogger(__name__)

ID, TITLE, DESCRIPTION = 'product_id', 'title', 'description'
# On an alias probe (a known cell asked again, catalog/vocabulary.py): the value the catalog holds.
KNOWN_VALUE = 'known_value'
QUESTIONS_SPLIT = 'questions'
QUARANTINE_REASON = 'quarantine_reason'
SUMMARY_FILE = 'summary.json'


def parse_attributes(text: str):
  return [a.strip() for a in re.split(r'[,\n]', text) if a.strip()]


def _read_file_schema(path: str) -> pa.Schema:
  return files.read_schema(path)   # just the footer, local or gs://


def _checked_file_schema(path: str) -> pa.Schema:
  """One file's schema, or a ValueError naming the file (pyarrow's own message does not)."""
  try:
    schema = _read_file_schema(path)
  except (pa.ArrowException, OSError) as error:
    raise ValueError(f'catalog file {path} is not a readable Parquet file: {error}') from error
  missing = {ID, TITLE} - set(schema.names)
  if missing:
    raise ValueError(f'catalog {path} lacks the column(s) {", ".join(sorted(missing))}')
  return schema


def read_schema(pattern: str) -> pa.Schema:
  """The catalog's schema, the same in every file (footers only: cheap at any size).

  Columns may come in another order from file to file: rows are read and written by
  column name.
  """
  files = sorted(tf.io.gfile.glob(pattern))
  if not files:
    raise FileNotFoundError(f'no catalog files match {pattern}')
  schema = _checked_file_schema(files[0])
  for path in files[1:]:
    differences = _schema_differences(schema, _checked_file_schema(path))
    if differences:
      raise ValueError(f'catalog files disagree on their schema: {path} vs {files[0]}: '
                       f'{"; ".join(differences)}')
  return schema


def _schema_differences(first: pa.Schema, other: pa.Schema):
  """'column: <type in other> instead of <type in first>' for each column that differs."""
  def describe(field):
    return 'absent' if field is None else str(field.type) + ('' if field.nullable else ' not null')
  fields, others = {f.name: f for f in first}, {f.name: f for f in other}
  return [f'{name}: {describe(others.get(name))} instead of {describe(fields.get(name))}'
          for name in sorted(set(fields) | set(others))
          if name not in fields or name not in others or not fields[name].equals(others[name])]


def _is_missing(value) -> bool:
  """None, NaN (pandas writes a missing number so) or blank text."""
  return value is None or value != value or not str(value).strip()


def row_problem(row):
  """Why a row cannot be enriched, or None."""
  product_id = row.get(ID)
  if isinstance(product_id, (list, dict)):
    return f'non-scalar product_id ({type(product_id).__name__})'
  if _is_missing(product_id):
    return 'missing product_id'
  title = row.get(TITLE)
  if title is None:
    return 'missing title'
  if not isinstance(title, str):
    return f'non-text title ({type(title).__name__})'
  title = without_control_characters(title)
  if not title.strip():
    return 'empty title'
  if not has_letters_or_digits(title):
    return 'title has no letters or digits'
  return None


def is_known(row, attribute):
  value = row.get(attribute)
  if isinstance(value, list):   # a list column: known when it holds a value
    return any(not _is_missing(v) for v in value)
  return not _is_missing(value)


def context_of(row, use_description):
  """The text the model reads; control characters become spaces (see span_alignment)."""
  title = without_control_characters(row[TITLE]).strip()
  description = row.get(DESCRIPTION) if use_description else None
  if isinstance(description, str):
    description = without_control_characters(description).strip()
    if description:
      return f'{title} {description}'
  return title


def attribute_columns(schema: pa.Schema, category_column: str = categories.DEFAULT_COLUMN):
  """The catalog's attribute columns, the default target attributes: every text column
  (or list of text) but product_id, title, description and the category column."""
  def text(field_type):
    if pa.types.is_list(field_type) or pa.types.is_large_list(field_type):
      field_type = field_type.value_type
    if pa.types.is_dictionary(field_type):
      field_type = field_type.value_type
    return pa.types.is_string(field_type) or pa.types.is_large_string(field_type)
  reserved = {ID, TITLE, DESCRIPTION, category_column or categories.DEFAULT_COLUMN}
  return [f.name for f in schema if f.name not in reserved and text(f.type)]


def to_ask(row, rules: categories.CategoryRules, repredict_known):
  """The attributes a row is asked: those of its category it does not know yet."""
  return [a for a in rules.attributes_of(row) if repredict_known or not is_known(row, a)]


def question(text, attribute, product_ids=(), known_value=None) -> bytes:
  """A serialized question, as the model reads it: a tf.Example (title, attribute[,
  product_id: one or more][, known_value])."""
  b = lambda *s: tf.train.Feature(bytes_list=tf.train.BytesList(value=[v.encode('utf-8') for v in s]))
  feature = {'title': b(text), 'attribute': b(attribute)}
  if product_ids:
    feature[ID] = b(*product_ids)
  if known_value is not None:
    feature[KNOWN_VALUE] = b(known_value)
  return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


def keyed_questions(row, rules: categories.CategoryRules, use_description, repredict_known):
  """((text, attribute), product_id) for the attributes to predict: rows with the same text
  (a catalog's variants, relisted products) ask each attribute once (ask_once)."""
  text = context_of(row, use_description)
  for attribute in to_ask(row, rules, repredict_known):
    yield (text, attribute), str(row[ID])


def ask_once(keyed):
  """The serialized question of a (text, attribute) and every product that asks it; the
  writer gives the answer to each of them."""
  (text, attribute), product_ids = keyed
  return question(text, attribute, sorted(product_ids))


def questions_for(row, rules: categories.CategoryRules, use_description, repredict_known):
  """Serialized tf.Examples (product_id, title, attribute) of one row's questions."""
  for (text, attribute), product_id in keyed_questions(row, rules, use_description, repredict_known):
    yield question(text, attribute, [product_id])


def no_value_markers(no_value_tokens) -> frozenset:
  """The no-value tokens as stated_value compares them."""
  return frozenset(t.casefold() for t in no_value_tokens)


def stated_value(value, markers: frozenset):
  """A known text cell's value, stripped; None when it is blank, not text, or a no-value
  marker (markers: no_value_markers)."""
  if isinstance(value, str) and value.strip() and value.strip().casefold() not in markers:
    return value.strip()
  return None


def stated_values(row, attributes, markers: frozenset):
  """(attribute, value) for each value the row states for one of the attributes
  (stated_value; a list cell states each of its values)."""
  for attribute in attributes:
    cell = row.get(attribute)
    for value in (cell if isinstance(cell, list) else [cell]):
      value = stated_value(value, markers)
      if value is not None:
        yield attribute, value


def probe_candidates(row, rules: categories.CategoryRules, use_description, markers: frozenset):
  """(attribute, (draw, question)) for each text value the row knows of its category's
  attributes (stated_value): an alias probe, drawn by a hash of id and attribute so that a
  rerun draws the same ones."""
  text = None
  for attribute in rules.attributes_of(row):
    value = stated_value(row.get(attribute), markers)
    if value is not None:
      text = text or context_of(row, use_description)
      draw = hashlib.sha256(f'{row[ID]}\x00{attribute}'.encode('utf-8')).hexdigest()
      yield attribute, (draw, question(text, attribute, [str(row[ID])], value))


def _question_counts(row, rules: categories.CategoryRules, repredict_known):
  """Per row: its questions per attribute and, with categories, per category the rows, the
  questions asked and those saved (unknown attributes of other categories)."""
  asked = to_ask(row, rules, repredict_known)
  counts = [('questions: ' + a, 1) for a in asked]
  if rules.column:
    category = categories.category_of(row, rules.column)
    if category is None:
      return counts + [('rows without a category', 1)]
    unknown = sum(1 for a in rules.attributes if repredict_known or not is_known(row, a))
    counts += [(f'category rows: {category}', 1), (f'category questions: {category}', len(asked)),
               (f'category saved: {category}', unknown - len(asked))]
  return counts


def _split_duplicates(keyed):
  product_id, rows = keyed
  rows = list(rows)
  if len(rows) == 1:
    yield beam.pvalue.TaggedOutput('accepted', rows[0])
  else:
    for row in rows:
      yield beam.pvalue.TaggedOutput('quarantined', dict(row, **{QUARANTINE_REASON: f'duplicate product_id ({len(rows)} rows)'}))


def _validate(row):
  problem = row_problem(row)
  if problem:
    yield beam.pvalue.TaggedOutput('quarantined', dict(row, **{QUARANTINE_REASON: problem}))
  else:
    yield beam.pvalue.TaggedOutput('keyed', (str(row[ID]), row))


# The data and fill settings' defaults are catalog/config.py's.
_DATA_DEFAULTS = {f.name: f.default for f in dataclasses.fields(DataConfig)}
_FILL_DEFAULTS = {f.name: f.default for f in dataclasses.fields(FillConfig)}


@dataclasses.dataclass(frozen=True)
class Settings:
  """What CatalogQuestionGen is told: which attributes, which category column and how a
  category's attributes are found (catalog/categories.py), and how rows are read."""
  attributes: Tuple[str, ...] = ()     # () : the catalog's attribute columns
  category_column: str = _DATA_DEFAULTS['category_column']
  attribute_map: str = _DATA_DEFAULTS['attribute_map']
  min_category_share: float = _DATA_DEFAULTS['min_category_share']
  use_description: bool = _DATA_DEFAULTS['use_description']
  repredict_known: bool = _DATA_DEFAULTS['repredict_known']
  no_value_tokens: Tuple[str, ...] = _DATA_DEFAULTS['no_value_tokens']
  alias_probes: int = _FILL_DEFAULTS['alias_probes']


def category_rules_input(pipeline, accepted, schema, settings: Settings, attributes):
  """A one-element PCollection: the CategoryRules of this catalog (learned from its known
  values in a pass over the accepted rows, or read from the user's table), and its note."""
  column = categories.category_column(schema, settings.category_column)
  if column and settings.attribute_map:
    table = categories.read_attribute_map(_read_text(settings.attribute_map), settings.attribute_map,
                                          attributes)
    return pipeline | 'GivenRules' >> beam.Create([(categories.CategoryRules(tuple(attributes), column, table), '')])
  if not column:
    if settings.attribute_map:
      raise ValueError(f'--attribute-map {settings.attribute_map} needs a category column; the catalog '
                       f'has none named {settings.category_column!r} (--category-column)')
    return pipeline | 'NoCategories' >> beam.Create([(categories.CategoryRules(tuple(attributes)), '')])
  return (accepted
          | 'KnownCounts' >> beam.FlatMap(categories.known_counts, column, attributes, is_known)
          | 'SumKnown' >> beam.CombinePerKey(sum) | 'KnownTable' >> beam.combiners.ToDict()
          | 'LearnRules' >> beam.Map(categories.rules_from_counts, attributes, column,
                                     settings.min_category_share))


def _read_text(path):
  if not tf.io.gfile.exists(path):
    raise FileNotFoundError(f'--attribute-map {path}: no such file')
  with tf.io.gfile.GFile(path) as f:
    return f.read()


def build_questions(pipeline, catalog_pattern, rows_uri, questions_uri, settings: Settings = Settings()):
  """Beam part: validate, quarantine, and write questions and accepted rows."""
  schema = read_schema(catalog_pattern)
  attributes = list(settings.attributes) or attribute_columns(schema, settings.category_column)
  if not attributes:
    raise ValueError(f'the catalog {catalog_pattern} has no attribute column to fill (text columns '
                     f'other than {ID}, {TITLE}, {DESCRIPTION} and the category); name them with --attributes')
  quarantine_schema = schema.append(pa.field(QUARANTINE_REASON, pa.string()))
  rows = pipeline | 'ReadCatalog' >> beam.io.ReadFromParquet(catalog_pattern)
  checked = rows | 'Validate' >> beam.FlatMap(_validate).with_outputs('keyed', 'quarantined')
  unique = (checked.keyed | 'GroupById' >> beam.GroupByKey()
            | 'SplitDuplicates' >> beam.FlatMap(_split_duplicates).with_outputs('accepted', 'quarantined'))
  accepted = unique.accepted
  quarantined = (checked.quarantined, unique.quarantined) | 'AllQuarantined' >> beam.Flatten()
  rules_and_note = category_rules_input(pipeline, accepted, schema, settings, attributes)
  rules = beam.pvalue.AsSingleton(rules_and_note | 'Rules' >> beam.Map(lambda rn: rn[0]))

  _ = accepted | 'WriteAccepted' >> beam.io.WriteToParquet(
      os.path.join(rows_uri, 'accepted', 'rows'), schema, file_name_suffix='.parquet')
  _ = quarantined | 'WriteQuarantined' >> beam.io.WriteToParquet(
      os.path.join(rows_uri, 'quarantined', 'rows'), quarantine_schema, file_name_suffix='.parquet')
  questions = (accepted | 'Questions' >> beam.FlatMap(
                   keyed_questions, rules, settings.use_description, settings.repredict_known)
               | 'SameQuestion' >> beam.GroupByKey() | 'AskOnce' >> beam.Map(ask_once))
  distinct = questions | 'CountDistinct' >> beam.Map(lambda _: ('distinct questions', 1))
  probe_count = pipeline | 'NoProbes' >> beam.Create([])
  if settings.alias_probes > 0 and not settings.repredict_known:   # repredicted cells are asked anyway
    probes = (accepted | 'ProbeCandidates' >> beam.FlatMap(probe_candidates, rules, settings.use_description,
                                                             no_value_markers(settings.no_value_tokens))
              | 'DrawProbes' >> beam.combiners.Top.PerKey(settings.alias_probes, key=lambda dq: dq[0])
              | 'ProbeQuestions' >> beam.FlatMap(lambda kv: [question for _, question in kv[1]]))
    questions = (questions, probes) | 'WithProbes' >> beam.Flatten()
    probe_count = probes | 'CountProbes' >> beam.Map(lambda _: ('alias probes', 1))
  _ = questions | 'WriteQuestions' >> beam.io.WriteToTFRecord(
      os.path.join(questions_uri, f'Split-{QUESTIONS_SPLIT}', 'data_tfrecord'), file_name_suffix='.gz')

  def count(pcoll, label, key_fn):
    return pcoll | label >> beam.Map(lambda x: (key_fn(x), 1))
  counts = (
      count(rows, 'CountIn', lambda _: 'rows_in'),
      count(accepted, 'CountAccepted', lambda _: 'accepted'),
      count(quarantined, 'CountQuarantined', lambda r: 'quarantined: ' + r[QUARANTINE_REASON]),
      accepted | 'CountQuestions' >> beam.FlatMap(_question_counts, rules, settings.repredict_known),
      probe_count, distinct,
  ) | 'FlattenCounts' >> beam.Flatten() | 'Sum' >> beam.CombinePerKey(sum) | 'ToDict' >> beam.combiners.ToDict()
  _ = counts | 'Summary' >> beam.Map(_write_summary, rows_uri, attributes,
                                     beam.pvalue.AsSingleton(rules_and_note))


def _category_summary(counts, rules: categories.CategoryRules, note: str):
  """Per category: rows, the attributes asked, questions asked and saved; the rows asked
  nothing for want of a known category."""
  if not rules.column:
    return {'column': None, 'note': note} if note else None
  per_category = {}
  for key, n in counts.items():
    kind, _, category = key.partition(': ')
    if kind in ('category rows', 'category questions', 'category saved'):
      entry = per_category.setdefault(category, {'rows': 0, 'questions': 0, 'questions_saved': 0,
                                                 'attributes': list(rules.applicable.get(category, ()))})
      entry[{'category rows': 'rows', 'category questions': 'questions',
             'category saved': 'questions_saved'}[kind]] += n
  return {'column': rules.column, 'applicable': {c: list(a) for c, a in rules.applicable.items()},
          'per_category': dict(sorted(per_category.items())),
          'rows_without_category': counts.get('rows without a category', 0),
          'rows_with_unmapped_category': sum(e['rows'] for c, e in per_category.items()
                                             if c not in rules.applicable),
          'map_categories_not_in_catalog': sorted(set(rules.applicable) - set(per_category)),
          'attributes_of_no_category': [a for a in rules.attributes
                                        if not any(a in names for names in rules.applicable.values())]}


def _write_summary(counts, rows_uri, attributes, rules_and_note):
  rules, note = rules_and_note
  summary = {'rows_in': counts.get('rows_in', 0), 'accepted': counts.get('accepted', 0),
             'quarantined': sum(v for k, v in counts.items() if k.startswith('quarantined: ')),
             'quarantine_reasons': {k.split(': ', 1)[1]: v for k, v in sorted(counts.items())
                                    if k.startswith('quarantined: ')},
             'questions': {a: counts.get('questions: ' + a, 0) for a in attributes},
             # Each identical (text, attribute) is asked once and its answer fanned out.
             'questions_distinct': counts.get('distinct questions', 0),
             'alias_probes': counts.get('alias probes', 0),
             'target_attributes': attributes,
             'categories': _category_summary(counts, rules, note),
             'rules': rules.to_json()}
  with tf.io.gfile.GFile(os.path.join(rows_uri, SUMMARY_FILE), 'w') as f:
    json.dump(summary, f, indent=2)
  if summary['rows_in'] != summary['accepted'] + summary['quarantined']:
    raise RuntimeError(f'catalog rows lost: {summary["rows_in"]} in, {summary["accepted"]} accepted, '
                       f'{summary["quarantined"]} quarantined')


def read_summary(rows_uri: str):
  """The summary.json of a CatalogRows artifact."""
  return files.read_json(rows_uri, SUMMARY_FILE)


def summary_lines(summary):
  """What the console shows of the catalog: rows, and with categories a line of totals."""
  questions = sum(summary['questions'].values())
  lines = [f"catalog: {summary['rows_in']} rows in, {summary['accepted']} accepted, "
           f"{summary['quarantined']} quarantined; {len(summary['target_attributes'])} target attributes, "
           f"{questions} questions"
           + (f" ({summary['questions_distinct']} distinct: the others repeat a text and attribute)"
              if summary.get('questions_distinct', questions) < questions else '')
           + (f", {summary['alias_probes']} known values asked again to learn the catalog's spelling"
              if summary.get('alias_probes') else '')]
  found = summary.get('categories')
  if found and found.get('column'):
    per = found['per_category']
    lines.append(f"categories ({found['column']!r}): {len(per)}, "
                 f"{sum(len(a) for a in found['applicable'].values())} category attributes; "
                 f"{sum(e['questions_saved'] for e in per.values())} questions of other categories' "
                 f"attributes not asked; {found['rows_without_category']} rows without a category and "
                 f"{found['rows_with_unmapped_category']} of a category not in the table asked nothing")
    if found.get('attributes_of_no_category'):
      log.warning('no category has these target attributes, so no row is asked them (they need known '
                  'values in the catalog, or --attribute-map): %s', ', '.join(found['attributes_of_no_category']))
    if found['map_categories_not_in_catalog']:
      log.warning('--attribute-map names categories the catalog does not have: %s',
                  ', '.join(found['map_categories_not_in_catalog']))
  elif found and found.get('note'):
    log.warning('%s', found['note'])
  return lines
