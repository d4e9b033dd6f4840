"""Predictions + accepted catalog rows -> the enriched catalog in Parquet.

Every accepted row comes out once, its original columns unchanged, plus for each
target attribute (column names in schemas/catalog_output.md):
  <slug>__value          the value filled, in the catalog's spelling (catalog/vocabulary.py);
                         null when not predicted, "no value", or below the attribute's threshold
  <slug>__span           the value as the text spells it, also when it was not filled
  <slug>__confidence     the model's confidence in that answer, in [0, 1]
  <slug>__model_version  the model that answered; null when the row already had it
With precision targets (evaluation/precision_targets.py) an attribute fills only at or above
its threshold, and one that cannot reach its target fills nothing. A value found for two
attributes of a row fills only one of them unless the catalog's known values show the two
sharing values (catalog/value_claims.py: the row's known values, then the vocabulary, then
confidence decide which). Alias probes (known
cells asked again) teach the vocabulary and fill nothing. A model that the evaluator did
not bless fills nothing: the summary says why. Rows in = rows out + quarantined is checked;
a mismatch fails the run. Beside the Parquet: the review queue (catalog/review_queue.py).
"""
import dataclasses
import functools
import json
import logging
import os

import apache_beam as beam
import pyarrow as pa
import tensorflow as tf

from catalog import cost
from catalog import questions as cq
from catalog import review_queue, value_claims, vocabulary
from evaluation import run_report
from catalog.columns import output_columns, span_column
from evaluation.gate import METRICS_FILE
from catalog.files import read_json

log = logging.getLogger(__name__)

SUMMARY_FILE = 'summary.json'
REPORT_FILE = run_report.REPORT_FILE


def output_schema(input_schema: pa.Schema, attributes) -> pa.Schema:
  schema = input_schema
  for attribute in attributes:
    value, confidence, version = output_columns(attribute)
    schema = (schema.append(pa.field(value, pa.string())).append(pa.field(span_column(attribute), pa.string()))
              .append(pa.field(confidence, pa.float64())).append(pa.field(version, pa.string())))
  return schema


@dataclasses.dataclass(frozen=True)
class FillRules:
  """What decides a cell beyond the model's answer. thresholds: {attribute:
  precision_targets.choose_threshold's result} for the attributes with a target (threshold
  None: it fills nothing); user_aliases: vocabulary.read_aliases' table; no_value_tokens:
  known cells saying "no value", which are not values of the vocabulary;
  one_attribute_per_value: catalog/value_claims.py's rule."""
  thresholds: dict = dataclasses.field(default_factory=dict)
  user_aliases: dict = dataclasses.field(default_factory=dict)
  no_value_tokens: tuple = ()
  one_attribute_per_value: bool = True

  @functools.cached_property
  def markers(self) -> frozenset:
    """no_value_tokens as questions.stated_value compares them, made once."""
    return cq.no_value_markers(self.no_value_tokens)

  def withheld(self, attribute, confidence) -> bool:
    """Whether a value is below its attribute's precision threshold (and so not filled)."""
    chosen = self.thresholds.get(attribute)
    return chosen is not None and (chosen['threshold'] is None or confidence < chosen['threshold'])

  def threshold(self, attribute):
    chosen = self.thresholds.get(attribute)
    return chosen['threshold'] if chosen else None


def fill_rules(attributes, target_precision, attribute_precision, value_aliases, no_value_tokens,
               blessing_uri, served_instead, one_attribute_per_value=True) -> FillRules:
  """The FillRules of a run: each attribute's threshold from the fill evidence in the blessing
  of the model that fills (the last blessed model's, when it fills instead of a refused one),
  the user's aliases, the no-value markers. Errors name the flag."""
  from evaluation import precision_targets
  targets = precision_targets.parse_targets(target_precision, attribute_precision, attributes)
  thresholds = {}
  if targets:
    if blessing_uri is None:
      raise ValueError(precision_targets.NEEDS_THE_GATE)
    name = precision_targets.BASELINE_EVIDENCE_FILE if served_instead else precision_targets.EVIDENCE_FILE
    evidence = precision_targets.read_evidence(blessing_uri, name)
    if evidence is None:
      raise ValueError(f'--target-precision: the blessing {blessing_uri} holds no {name} (the model was '
                       f'blessed before precision targets existed): train it again to set targets')
    thresholds = precision_targets.thresholds(evidence, targets, attributes)
    missed = {attribute: chosen for attribute, chosen in thresholds.items() if chosen['threshold'] is None}
    for attribute, chosen in missed.items():   # shown with --verbose; the run report has them too
      all_fills = chosen['curve'][-1] if chosen['curve'] else {'fills': 0, 'right': 0}
      log.debug('%s cannot reach precision %.2f on the eval split (%d of its %d values predicted there '
                'were right)', attribute, chosen['target'], all_fills['right'], all_fills['fills'])
    if missed:
      # One line however many attributes: the console stays a page.
      log.warning('%d of %d attributes cannot reach their precision target on the eval split: they fill '
                  'nothing, and their values go to the review queue (per attribute: the run report)',
                  len(missed), len(thresholds))
  return FillRules(thresholds, vocabulary.read_aliases(value_aliases, attributes), tuple(no_value_tokens),
                   one_attribute_per_value)


def parse_prediction_log(log):
  """(product_id, (attribute, value, confidence, known value)) from one PredictionLog of
  BulkInferrer, for each product that asked the question; the known value is None except
  for alias probes."""
  request, response = log.predict_log.request, log.predict_log.response
  serialized = tf.make_ndarray(request.inputs['examples']).reshape(-1)
  values = tf.make_ndarray(response.outputs['value']).reshape(-1)
  confidences = tf.make_ndarray(response.outputs['confidence']).reshape(-1)
  for example_bytes, value, confidence in zip(serialized, values, confidences):
    features = tf.train.Example.FromString(example_bytes).features.feature
    attribute = features['attribute'].bytes_list.value[0].decode('utf-8')
    probe = features[cq.KNOWN_VALUE].bytes_list.value if cq.KNOWN_VALUE in features else None
    for product_id in features[cq.ID].bytes_list.value:
      yield product_id.decode('utf-8'), (attribute, value.decode('utf-8') or None, float(confidence),
                                         probe[0].decode('utf-8') if probe else None)


def is_probe(keyed_answer) -> bool:
  return keyed_answer[1][3] is not None


def probe_pair(keyed_answer):
  """((attribute, known value, span read), 1) of an alias probe with an answer."""
  attribute, span, _, known = keyed_answer[1]
  return [((attribute, known, span), 1)] if span else []


def known_values(row, attributes, markers: frozenset):
  """((attribute, known value), 1) for each value the row knows (questions.stated_values):
  the vocabulary's words."""
  for known in cq.stated_values(row, attributes, markers):
    yield known, 1


def fill_row(keyed, attributes, version, words: vocabulary.Vocabulary, rules: FillRules, use_description,
             review: bool, shared=None):
  """The row with its cells filled, (tagged 'counts') what was done, and when review, (tagged
  'review') an (attribute, queue row) for each value found, filled or not. shared: {pair of
  attributes: rows}, the pairs that may hold the same value (value_claims), or None when
  any attributes may."""
  _, grouped = keyed
  rows = list(grouped['rows'])
  answers = {a: (v, c) for a, v, c, _ in grouped['answers']}
  for row in rows:   # exactly one: ids are unique after CatalogQuestionGen
    row, text = dict(row), None
    found = {}   # attribute -> (value, how, span, confidence, withheld)
    for attribute in attributes:
      span, confidence = answers.get(attribute, (None, None))
      value, how = words.normalise(attribute, span)
      found[attribute] = (value, how, span, confidence, value is not None and rules.withheld(attribute, confidence))
    claimed = {} if shared is None else value_claims.claimed(
        {a: (value, how != vocabulary.OUTSIDE, confidence) for a, (value, how, _, confidence, withheld)
         in found.items() if value is not None and not withheld},
        value_claims.known_keys(row, attributes, rules.markers), shared)
    for attribute in attributes:
      value_col, confidence_col, version_col = output_columns(attribute)
      value, how, span, confidence, withheld = found[attribute]
      claimed_by = claimed.get(attribute)
      filled = value is not None and not withheld and claimed_by is None
      row[value_col] = value if filled else None
      row[span_column(attribute)], row[confidence_col] = span, confidence
      row[version_col] = version if attribute in answers else None
      if value is not None:
        outcome = 'filled: ' if filled else 'withheld: ' if withheld else 'claimed: '
        yield beam.pvalue.TaggedOutput('counts', outcome + attribute)
        yield beam.pvalue.TaggedOutput('counts', 'spelling: ' + how)
        if review:
          text = text or cq.context_of(row, use_description)
          yield beam.pvalue.TaggedOutput('review', (attribute, review_queue.queue_row(
              row, attribute, text, value, span, confidence, version, filled,
              how != vocabulary.OUTSIDE, rules.threshold(attribute), claimed_by)))
    yield row


def write_enriched(pipeline, rows_uri, predictions_pattern, output_uri, attributes, version,
                   use_description, review_size=0, rules: FillRules = FillRules()):
  from tensorflow_serving.apis import prediction_log_pb2
  schema = cq.read_schema(os.path.join(rows_uri, 'accepted', '*.parquet'))
  rows = (pipeline | 'ReadRows' >> beam.io.ReadFromParquet(os.path.join(rows_uri, 'accepted', '*.parquet'))
          | 'KeyRows' >> beam.Map(lambda r: (str(r[cq.ID]), r)))
  answers = (pipeline | 'ReadPredictions' >> beam.io.ReadFromTFRecord(
                 predictions_pattern, coder=beam.coders.ProtoCoder(prediction_log_pb2.PredictionLog))
             | 'ParsePredictions' >> beam.FlatMap(parse_prediction_log))
  # The vocabulary: the catalog's known values, and what the alias probes read for them.
  known = (rows | 'KnownValues' >> beam.FlatMap(lambda kv: known_values(kv[1], attributes, rules.markers))
           | 'CountKnown' >> beam.CombinePerKey(sum))
  probes = (answers | 'Probes' >> beam.Filter(is_probe) | 'ProbePairs' >> beam.FlatMap(probe_pair)
            | 'CountProbes' >> beam.CombinePerKey(sum))
  words = beam.pvalue.AsSingleton(
      pipeline | 'One' >> beam.Create([None]) | 'Vocabulary' >> beam.Map(
          lambda _, k, p: vocabulary.build(k, p, rules.user_aliases), beam.pvalue.AsList(known),
          beam.pvalue.AsList(probes)))
  # The pairs of attributes the catalog's rows know one value for (value_claims).
  shared = (rows | 'KnownKeys' >> beam.Map(lambda kv: value_claims.known_keys(kv[1], attributes, rules.markers))
            | 'SharedPairs' >> beam.FlatMap(value_claims.shared_pairs)
            | 'CountShared' >> beam.combiners.Count.PerElement() | 'SharedDict' >> beam.combiners.ToDict())
  questions = answers | 'NotProbes' >> beam.Filter(lambda a: not is_probe(a))
  filled = ({'rows': rows, 'answers': questions} | 'Join' >> beam.CoGroupByKey()
            | 'Fill' >> beam.FlatMap(fill_row, attributes, version, words, rules, use_description,
                                     review_size > 0,
                                     beam.pvalue.AsSingleton(shared) if rules.one_attribute_per_value else None,
                                     ).with_outputs('review', 'counts', main='rows'))
  _ = filled.rows | 'WriteParquet' >> beam.io.WriteToParquet(
      os.path.join(output_uri, 'catalog'), output_schema(schema, attributes), file_name_suffix='.parquet')
  if review_size > 0:
    _ = (filled.review
         | 'ReviewFirst' >> beam.combiners.Top.PerKey(review_size, key=review_queue.priority, reverse=True)
         | 'QueueRows' >> beam.FlatMap(lambda kv: kv[1])
         | 'OneList' >> beam.combiners.ToList()
         | 'WriteQueue' >> beam.Map(review_queue.write_queue, output_uri))
  counts = ((filled.counts | 'CountDone' >> beam.Map(lambda key: (key, 1))),
            (filled.rows | 'CountRows' >> beam.Map(lambda _: ('rows_out', 1))),
            (probes | 'CountProbed' >> beam.Map(lambda kv: ('probes', kv[1]))))
  counts = (counts | 'AllCounts' >> beam.Flatten() | 'Sum' >> beam.CombinePerKey(sum)
            | 'ToDict' >> beam.combiners.ToDict()
            | 'WithVocabulary' >> beam.Map(lambda c, w, p: dict(c, vocabulary=w.size(), shared_values=p), words,
                                          beam.pvalue.AsSingleton(shared)))
  return counts


def finish_summary(counts, rows_uri, output_uri, attributes, version, review_size=0, refused='',
                   rules: FillRules = FillRules(), answers=None):
  """refused: why the gate refused this run's model, when the served model filled instead.
  answers: the inference step's answers.json (serving/batch_inference.py; None: not written)."""
  with tf.io.gfile.GFile(os.path.join(rows_uri, cq.SUMMARY_FILE)) as f:
    catalog = json.load(f)
  answers = answers or {}
  distinct = catalog.get('questions_distinct', catalog.get('questions_asked'))
  key = answers.get('answers_key') or {}
  summary = {'filled': True, 'model_version': version, 'refused': refused, 'rows_in': catalog['rows_in'],
             # How the model was served (serving/serving_choice.py), as the inference step says.
             'served_with': {k: key[k] for k in ('runtime', 'precision')} if key else None,
             'rows_out': counts.get('rows_out', 0), 'quarantined': catalog['quarantined'],
             'quarantine_reasons': catalog['quarantine_reasons'],
             # Every row's questions; distinct: those with a text and attribute of their own
             # (the others take its answer); reused: answered by the previous run (--incremental);
             # asked: of the model. Alias probes are counted under vocabulary.
             'questions': catalog['questions'], 'questions_distinct': distinct,
             'questions_reused': answers.get('reused', 0),
             'questions_asked': None if distinct is None else distinct - answers.get('reused', 0),
             # The writer's own CPU-seconds are added once its pipeline has finished (record_cost).
             'cost': cost.catalog_step({'questions': catalog.get(cost.CPU_SECONDS),
                                        'inference': answers.get(cost.CPU_SECONDS)},
                                       sum(catalog['questions'].values()),
                                       sum(counts.get('filled: ' + a, 0) for a in attributes)),
             'categories': catalog.get('categories'),
             'values_filled': {a: counts.get('filled: ' + a, 0) for a in attributes},
             'values_withheld': {a: counts.get('withheld: ' + a, 0) for a in attributes},
             # Not filled: another attribute of the row holds the same value (value_claims).
             'values_claimed': {a: counts.get('claimed: ' + a, 0) for a in attributes},
             'one_attribute_per_value': rules.one_attribute_per_value,
             # Pairs of attributes that may hold one value: [a, b, rows of the catalog knowing it].
             'shared_values': sorted([*pair, n] for pair, n in counts.get('shared_values', {}).items()),
             'spelling': {how: counts.get('spelling: ' + how, 0) for how in vocabulary.HOW},
             'vocabulary': dict(counts.get('vocabulary', {}), alias_probes_answered=counts.get('probes', 0)),
             'precision_targets': {a: {k: v for k, v in t.items() if k != 'curve'}
                                   for a, t in rules.thresholds.items()},
             'catalog_files': os.path.join(output_uri, 'catalog-*.parquet'),
             'quarantine_files': os.path.join(rows_uri, 'quarantined', '*.parquet')}
  if review_size > 0:
    summary['review_queue'] = review_queue.queue_paths(output_uri)
  write_summary(output_uri, summary)
  if summary['rows_in'] != summary['rows_out'] + summary['quarantined']:
    raise RuntimeError(f'rows in ({summary["rows_in"]}) != rows out ({summary["rows_out"]}) '
                       f'+ quarantined ({summary["quarantined"]})')
  return summary


def record_cost(output_uri, writer_seconds):
  """The catalog step's cost in the summary, once the writer's own CPU-seconds are known."""
  summary = read_summary(output_uri)
  parts = {part: summary['cost']['cpu_seconds'][part] for part in cost.PARTS}
  parts['writer'] = writer_seconds
  summary['cost'] = cost.catalog_step(parts, sum(summary['questions'].values()),
                                      sum(summary['values_filled'].values()))
  write_summary(output_uri, summary)


def write_summary(output_uri, summary):
  with tf.io.gfile.GFile(os.path.join(output_uri, SUMMARY_FILE), 'w') as f:
    json.dump(summary, f, indent=2)
  log.debug('enriched catalog: %s', json.dumps(summary, indent=2))


def read_gate_metrics(evaluation_uri):
  """The gate's metrics.json (evaluation/gate.py), or None if absent."""
  return read_json(evaluation_uri, METRICS_FILE)


def read_summary(output_uri):
  with tf.io.gfile.GFile(os.path.join(output_uri, SUMMARY_FILE)) as f:
    return json.load(f)
