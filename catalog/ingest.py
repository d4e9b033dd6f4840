"""Ingest, as a Beam pipeline (components/triples_example_gen.py runs it): labelled text
lines, and triples mined from the values the catalog already knows (catalog/mining.py) ->
train/eval tf.Examples, in ExampleGen's layout (Split-*/ gzipped TFRecords), so
StatisticsGen, Transform and the rest read them as usual. Malformed lines go to
quarantine/ with their file and reason, and ingest_summary.json counts everything:
lines read = blank + duplicate + malformed + labelled examples. Mined triples are
split by product (all of a product's triples on one side; zero_shot: by attribute), and
the summary counts, per attribute, the rows with a known value and what each gave.
Reviewed rows of earlier runs' review queues (catalog/review_queue.py) are labelled
triples of their product, split the same way, and replace the mined triple of the same
product and attribute. An empty train or eval split is an error that names the split rule
and the counts.
"""
import dataclasses
import json
import logging
import os
from typing import FrozenSet, Optional, Tuple

import apache_beam as beam

from catalog import mining as catalog_mining, review_queue, splits, triples
from catalog.files import read_json
from catalog.categories import CategoryRules

log = logging.getLogger(__name__)

SUMMARY_FILE = 'ingest_summary.json'
QUARANTINE_DIR = 'quarantine'
MALFORMED_PREFIX = 'malformed: '
MINED_PREFIX = 'mined_'   # example statuses of mined triples: mined_aligned, mined_null
REVIEWED_PREFIX = 'reviewed_'   # and of reviewed ones: reviewed_value, reviewed_no_value, …
REPLACED_BY_REVIEW = 'replaced_by_review'


@dataclasses.dataclass(frozen=True)
class Mining:
  """Where the catalog's accepted rows are, and the rules for mining them."""
  rows_pattern: str
  rules: CategoryRules     # which attributes each row is mined for: those of its category
  use_description: bool
  known_not_in_text: str
  max_per_attribute: int   # 0: no cap
  weight: float            # a mined triple's share in the losses (a labelled one's is 1)
  reviewed: FrozenSet[Tuple[str, str]] = frozenset()   # (product_id, attribute) a person reviewed
  no_value_tokens: Tuple[str, ...] = ()   # cells that say "no such value" ("n/a")
  value_removed_negatives: bool = False   # each aligned triple also gives its text without the value


def _route(file_and_line, rule):
  source_file, raw_line = file_and_line
  parsed = triples.parse_line(raw_line)
  if isinstance(parsed, str):
    # Beam reads a file in parallel chunks, so the line's number is unknown here: its
    # file and its text identify it.
    text = raw_line.decode('utf-8', errors='replace')
    return 'malformed', {'file': source_file, 'line': text, 'reason': parsed}
  status = 'aligned' if parsed.span else ('null' if parsed.is_null else 'value_not_in_title')
  split = rule.split_of(raw_line.decode('utf-8'), parsed.title, parsed.attribute)
  return split, (status, triples.to_example(parsed).SerializeToString())


def _first_file_of_each_line(file_and_line):
  """The AE-pub-21k protocol: the union of its files, de-duplicated by whole line (the
  first file in name order is kept, for the quarantine)."""
  return (file_and_line
          | 'KeyByLine' >> beam.MapTuple(lambda source_file, line: (line, source_file))
          | 'Dedupe' >> beam.CombinePerKey(min)
          | 'FileFirst' >> beam.MapTuple(lambda line, source_file: (source_file, line)))


def _mine_row(row, mining: Mining):
  """(attribute, outcome, product_id, triple or None) for each attribute of the row's
  category that the row knows (and each value-removed negative)."""
  for attribute, outcome, triple in catalog_mining.mined_triples(
      row, mining.rules.attributes_of(row), mining.use_description, mining.known_not_in_text,
      mining.no_value_tokens, mining.value_removed_negatives):
    yield attribute, outcome, str(row['product_id']), triple


def _mined_status(outcome, triple):
  """The example status of a mined triple: mined_aligned, mined_null or mined_value_removed."""
  if outcome == catalog_mining.VALUE_REMOVED:
    return MINED_PREFIX + outcome
  return MINED_PREFIX + ('aligned' if triple.span else 'null')


def _mined_examples(pipeline, mining: Mining, rule):
  """(split, (status, serialized example)) of the triples mined from the catalog's rows, and
  the mining's counts ('mined.<attribute>.<outcome>': n)."""
  mined = (pipeline | 'ReadKnownRows' >> beam.io.ReadFromParquet(mining.rows_pattern)
           | 'Mine' >> beam.FlatMap(_mine_row, mining))
  with_triple = mined | 'WithTriple' >> beam.Filter(lambda m: m[3] is not None)
  replaced = with_triple | 'Reviewed' >> beam.Filter(lambda m: (m[2], m[0]) in mining.reviewed)
  labels = with_triple | 'NotReviewed' >> beam.Filter(lambda m: (m[2], m[0]) not in mining.reviewed)
  if mining.max_per_attribute:   # per attribute, and apart for its value-removed negatives
    negative = lambda m: m[1] == catalog_mining.VALUE_REMOVED
    labels = (labels | 'ByAttribute' >> beam.Map(lambda m: ((m[0], negative(m)), m))
              | 'Cap' >> beam.combiners.Top.PerKey(
                  mining.max_per_attribute, key=lambda m: catalog_mining.product_rank(rule.seed, m[2]), reverse=True)
              | 'Capped' >> beam.FlatMap(lambda kv: kv[1]))
  routed = labels | 'RouteMined' >> beam.Map(lambda m: (
      rule.split_of_product(m[2], m[0]),
      (_mined_status(m[1], m[3]), triples.to_example(m[3], mining.weight, triples.MINED).SerializeToString())))
  counts = [mined | 'CountMined' >> beam.Map(lambda m: (f'mined.{m[0]}.{m[1]}', 1)),
            mined | 'CountKnown' >> beam.FlatMap(
                lambda m: [(f'mined.{m[0]}.known', 1)] if m[1] in catalog_mining.OUTCOMES else []),
            replaced | 'CountReplaced' >> beam.Map(lambda m: (f'mined.{m[0]}.{REPLACED_BY_REVIEW}', 1)),
            labels | 'CountKept' >> beam.Map(lambda m: (f'mined.{m[0]}.kept', 1))]
  return routed, counts


def _reviewed_examples(pipeline, reviewed_rows, rule):
  """(split, (status, serialized example)) of the reviewed rows, and their counts
  ('reviewed.<attribute>.<outcome>': n)."""
  def review(row):
    outcome, triple = review_queue.reviewed_triple(row)
    return row['attribute'], outcome, str(row['product_id']), triple

  reviewed = (pipeline | 'ReadReviewed' >> beam.Create(reviewed_rows, reshuffle=False)
              | 'Review' >> beam.Map(review))
  routed = (reviewed | 'ReviewedTriple' >> beam.Filter(lambda r: r[3] is not None)
            | 'RouteReviewed' >> beam.Map(lambda r: (
                rule.split_of_product(r[2], r[0]),
                (REVIEWED_PREFIX + r[1],
                 triples.to_example(r[3], 1.0, triples.REVIEWED).SerializeToString()))))
  counts = reviewed | 'CountReviewed' >> beam.Map(lambda r: (f'reviewed.{r[0]}.{r[1]}', 1))
  return routed, [counts]


def reviewed_keys(reviewed_rows) -> FrozenSet[Tuple[str, str]]:
  """(product_id, attribute) of the rows that give a triple: the mined one is dropped."""
  return frozenset((str(r['product_id']), r['attribute']) for r in reviewed_rows
                   if review_queue.reviewed_triple(r)[1] is not None)


def write_examples(pipeline, triples_pattern, rule, output_uri, dedupe=True,
                   mining: Optional[Mining] = None, reviewed_rows=()):
  """Beam part of the component, also used by tests and scripts without TFX.
  triples_pattern: '' for none (mining alone). reviewed_rows: review_queue.read_reviewed's.

  Raises ValueError before the pipeline runs when triples_pattern matches no file or
  only empty ones, or when neither triples nor a catalog to mine are given; and when it
  runs if neither the lines nor the catalog make an example.
  """
  if triples_pattern:
    triples.triples_files(triples_pattern)
    read = pipeline | 'Read' >> beam.io.ReadFromTextWithFilename(
        triples_pattern, coder=beam.coders.BytesCoder(), strip_trailing_newlines=True)
  elif mining is None and not reviewed_rows:
    raise ValueError('no training data: give labelled triples (--triples), a catalog with '
                     'known values to mine, or reviewed queues (--reviewed)')
  else:
    read = pipeline | 'NoLines' >> beam.Create([]).with_output_types(Tuple[str, bytes])
  lines = read | 'DropBlank' >> beam.Filter(lambda file_and_line: file_and_line[1].strip())
  if dedupe:
    lines = _first_file_of_each_line(lines)
  routed = lines | 'Route' >> beam.Map(_route, rule)
  examples, mined_counts = routed, []
  if mining is not None:
    mined, mined_counts = _mined_examples(pipeline, mining, rule)
    examples = (examples, mined) | 'WithMined' >> beam.Flatten()
  if reviewed_rows:
    reviewed, reviewed_counts = _reviewed_examples(pipeline, list(reviewed_rows), rule)
    examples = (examples, reviewed) | 'WithReviewed' >> beam.Flatten()
    mined_counts = mined_counts + reviewed_counts
  outputs = {}
  for split in (splits.TRAIN, splits.EVAL):
    records = (examples | f'Select[{split}]' >> beam.Filter(lambda kv, s=split: kv[0] == s)
               | f'Payload[{split}]' >> beam.Map(lambda kv: kv[1]))
    _ = (records | f'Serialize[{split}]' >> beam.Map(lambda sv: sv[1])
         | f'Write[{split}]' >> beam.io.WriteToTFRecord(
             os.path.join(output_uri, f'Split-{split}', 'data_tfrecord'), file_name_suffix='.gz'))
    outputs[split] = records
  malformed = (routed | 'SelectMalformed' >> beam.Filter(lambda kv: kv[0] == 'malformed')
               | 'MalformedRecord' >> beam.Map(lambda kv: kv[1]))
  _ = (malformed | 'MalformedJson' >> beam.Map(json.dumps, ensure_ascii=False)
       | 'WriteQuarantine' >> beam.io.WriteToText(
           os.path.join(output_uri, QUARANTINE_DIR, 'malformed_lines'), file_name_suffix='.jsonl'))

  # Every line read is counted somewhere: blank, duplicate, malformed or an example.
  counts = [outputs[s] | f'Count[{s}]' >> beam.Map(lambda sv, s=s: (f'{s}.{sv[0]}', 1))
            for s in outputs]
  counts.append(malformed | 'CountMalformed' >> beam.Map(lambda r: (MALFORMED_PREFIX + r['reason'], 1)))
  counts.append(read | 'CountRead' >> beam.Map(lambda _: ('lines_read', 1)))
  counts.append(read | 'CountBlank' >> beam.FlatMap(lambda fl: [] if fl[1].strip() else [('blank_lines', 1)]))
  counts.append(routed | 'CountDistinct' >> beam.Map(lambda _: ('distinct_lines', 1)))
  counts.extend(mined_counts)
  _ = (counts | 'Flatten' >> beam.Flatten() | 'Sum' >> beam.CombinePerKey(sum)
       | 'ToDict' >> beam.combiners.ToDict()
       | 'Summary' >> beam.Map(_write_summary, output_uri, rule, triples_pattern))


def _summary(counts, rule, triples_pattern):
  malformed_reasons = {k[len(MALFORMED_PREFIX):]: v for k, v in sorted(counts.items())
                       if k.startswith(MALFORMED_PREFIX)}
  mined, reviewed = {}, {}
  for key, n in sorted(counts.items()):
    if key.startswith('mined.'):
      attribute, outcome = key[len('mined.'):].rsplit('.', 1)
      mined.setdefault(attribute, dict.fromkeys(
          ('known',) + catalog_mining.OUTCOMES + catalog_mining.NEGATIVE_OUTCOMES
          + (REPLACED_BY_REVIEW, 'kept'), 0))[outcome] = n
    elif key.startswith('reviewed.'):
      attribute, outcome = key[len('reviewed.'):].rsplit('.', 1)
      reviewed.setdefault(attribute, dict.fromkeys(review_queue.OUTCOMES, 0))[outcome] = n
  example_counts = {k: v for k, v in counts.items() if k.startswith((splits.TRAIN + '.', splits.EVAL + '.'))}
  malformed = sum(malformed_reasons.values())
  if malformed:
    example_counts['malformed'] = malformed
  lines_read, blank, distinct = (counts.get(k, 0) for k in ('lines_read', 'blank_lines', 'distinct_lines'))
  summary = {'split_rule': {'rule': rule.rule, 'seed': rule.seed, 'eval_percent': rule.eval_percent,
                            'held_out_attributes': list(rule.held_out_attributes)},
             'triples_pattern': triples_pattern,
             'counts': dict(sorted(example_counts.items())),
             'lines_read': lines_read, 'blank_lines': blank,
             'duplicate_lines': lines_read - blank - distinct,
             'malformed': malformed, 'malformed_reasons': malformed_reasons}
  for split in (splits.TRAIN, splits.EVAL):
    summary[f'{split}_examples'] = sum(v for k, v in example_counts.items() if k.startswith(split + '.'))
    by_source = {source: sum(v for k, v in example_counts.items() if k.startswith(f'{split}.{prefix}'))
                 for source, prefix in ((triples.MINED, MINED_PREFIX), (triples.REVIEWED, REVIEWED_PREFIX))}
    summary[f'{split}_sources'] = {triples.LABELLED: summary[f'{split}_examples'] - sum(by_source.values()),
                                   **by_source}
  # Per attribute: rows with a known value ('known'), what each gave (catalog_mining.OUTCOMES),
  # those a reviewed row replaced, and the triples kept after --max-mined-per-attribute ('kept').
  summary['mined'] = mined
  # Per attribute: what the reviewed rows gave (review_queue.OUTCOMES).
  summary['reviewed'] = reviewed
  return summary


def _write_summary(counts, output_uri, rule, triples_pattern):
  import tensorflow as tf
  summary = _summary(counts, rule, triples_pattern)
  with tf.io.gfile.GFile(os.path.join(output_uri, SUMMARY_FILE), 'w') as f:
    json.dump(summary, f, indent=2)
  examples = summary['train_examples'] + summary['eval_examples']
  labelled = sum(summary[f'{split}_sources']['labelled'] for split in (splits.TRAIN, splits.EVAL))
  routed = counts.get('distinct_lines', 0)
  if routed != summary['malformed'] + labelled:   # a line neither quarantined nor written
    raise RuntimeError(f'triples lost between reading and writing: {routed} distinct lines, '
                       f'{summary["malformed"]} malformed, {examples} examples')
  if not examples:   # fail here, naming the input, rather than in Transform on empty splits
    raise ValueError(_no_usable_triples(summary, triples_pattern, output_uri))


def check_splits(summary):
  """A ValueError naming the split rule and the counts when the train or the eval split is
  empty: training, or the gate, would have nothing to read."""
  for split in (splits.TRAIN, splits.EVAL):
    if not summary[f'{split}_examples']:
      raise ValueError(_empty_split(summary, split))


def _empty_split(summary, split):
  rule = summary['split_rule']
  how = (f"held-out attributes {', '.join(rule['held_out_attributes']) or '(none)'}"
         if rule['rule'] == 'zero_shot' else f"eval_percent {rule['eval_percent']}, seed {rule['seed']}")
  other = splits.EVAL if split == splits.TRAIN else splits.TRAIN
  sources = ', '.join(f'{k} {v}' for k, v in summary[f'{other}_sources'].items())
  return (f'the {split} split is empty: split rule {rule["rule"]} ({how}) put all '
          f'{summary[f"{other}_examples"]} examples in {other} ({sources}); mined and reviewed '
          'triples are split by product, so a few products give one split only. Give more '
          'data, or another --split / --eval-percent')


def read_summary(examples_uri: str):
  """The ingest summary an output of this component holds (None for examples without one)."""
  return read_json(examples_uri, SUMMARY_FILE)


def summary_lines(summary):
  """What the console shows of an ingest: examples per split and source, and the totals of
  what the known values and reviewed rows gave (per attribute: the summary file and the
  run report)."""
  lines = [f"{split} examples: {summary[f'{split}_examples']} ("
           + ', '.join(f'{k} {v}' for k, v in summary[f'{split}_sources'].items()) + ')'
           for split in (splits.TRAIN, splits.EVAL)]
  for kind in ('mined', 'reviewed'):
    table = summary.get(kind, {})
    if table:
      totals = {}
      for outcomes in table.values():
        for outcome, n in outcomes.items():
          totals[outcome] = totals.get(outcome, 0) + n
      lines.append(f'{kind} ({len(table)} attributes): '
                   + ', '.join(f'{k} {v}' for k, v in totals.items() if v))
  return lines


def _no_usable_triples(summary, triples_pattern, output_uri):
  known = sum(o['known'] for o in summary['mined'].values())
  if not triples_pattern and not known and not summary.get('reviewed'):
    return ("the catalog knows no value of its target attributes, so there is nothing to learn "
            "from: give labelled triples (--triples), filled-in review queues (--reviewed), or a "
            "catalog with some known values in its attribute columns")
  message = (f'no usable triples in {triples_pattern or "(no triples given)"}: {summary["lines_read"]} '
             f'line(s) read, {summary["blank_lines"]} blank, {summary["malformed"]} malformed')
  if summary['mined'] or not triples_pattern:
    message += f"; {known} known catalog value(s) mined, none usable"
  if summary.get('reviewed'):
    message += f"; {sum(sum(o.values()) for o in summary['reviewed'].values())} reviewed row(s), none usable"
  if summary['malformed']:
    reasons = '; '.join(f'{reason}: {n}' for reason, n in summary['malformed_reasons'].items())
    message += f' ({reasons}); the malformed lines are in {os.path.join(output_uri, QUARANTINE_DIR)}'
  return message
