"""ExampleGen for labelled triples: text lines -> train/eval tf.Examples, by a split rule.

A custom component rather than FileBasedExampleGen because the split rules
(components/splits.py) need the parsed title and attribute, not a hash bucket of the
serialized record. Output layout is ExampleGen's (Split-*/ gzipped TFRecords), so
StatisticsGen, Transform and the rest read it as usual. Malformed lines go to
quarantine/ with their file and reason, and ingest_summary.json counts everything:
lines read = blank + duplicate + malformed + train + eval examples.
"""
import json
import logging
import os

import apache_beam as beam
from tfx.dsl.component.experimental.annotations import BeamComponentParameter, OutputArtifact, Parameter
from tfx.dsl.component.experimental.decorators import component
from tfx.types import artifact_utils, standard_artifacts

from components import splits, triples

log = logging.getLogger(__name__)

SUMMARY_FILE = 'ingest_summary.json'
QUARANTINE_DIR = 'quarantine'
MALFORMED_PREFIX = 'malformed: '


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


def write_examples(pipeline, triples_pattern, rule, output_uri, dedupe=True):
  """Beam part of the component, also used by tests and scripts without TFX.

  Raises ValueError before the pipeline runs when triples_pattern matches no file or
  only empty ones, and when it runs if no line of them makes an example.
  """
  triples.triples_files(triples_pattern)
  read = pipeline | 'Read' >> beam.io.ReadFromTextWithFilename(
      triples_pattern, coder=beam.coders.BytesCoder(), strip_trailing_newlines=True)
  lines = read | 'DropBlank' >> beam.Filter(lambda file_and_line: file_and_line[1].strip())
  if dedupe:
    lines = _first_file_of_each_line(lines)
  routed = lines | 'Route' >> beam.Map(_route, rule)
  outputs = {}
  for split in (splits.TRAIN, splits.EVAL):
    records = (routed | f'Select[{split}]' >> beam.Filter(lambda kv, s=split: kv[0] == s)
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
  _ = (counts | 'Flatten' >> beam.Flatten() | 'Sum' >> beam.CombinePerKey(sum)
       | 'ToDict' >> beam.combiners.ToDict()
       | 'Summary' >> beam.Map(_write_summary, output_uri, rule, triples_pattern))


def _summary(counts, rule, triples_pattern):
  malformed_reasons = {k[len(MALFORMED_PREFIX):]: v for k, v in sorted(counts.items())
                       if k.startswith(MALFORMED_PREFIX)}
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
  return summary


def _write_summary(counts, output_uri, rule, triples_pattern):
  import tensorflow as tf
  summary = _summary(counts, rule, triples_pattern)
  with tf.io.gfile.GFile(os.path.join(output_uri, SUMMARY_FILE), 'w') as f:
    json.dump(summary, f, indent=2)
  log.info('triples: %s', ', '.join(f'{k} {v}' for k, v in summary['counts'].items()))
  examples = summary['train_examples'] + summary['eval_examples']
  routed = counts.get('distinct_lines', 0)
  if routed != summary['malformed'] + examples:   # a line neither quarantined nor written
    raise RuntimeError(f'triples lost between reading and writing: {routed} distinct lines, '
                       f'{summary["malformed"]} malformed, {examples} examples')
  if not examples:   # fail here, naming the input, rather than in Transform on empty splits
    raise ValueError(_no_usable_triples(summary, triples_pattern, output_uri))


def _no_usable_triples(summary, triples_pattern, output_uri):
  message = (f'no usable triples in {triples_pattern}: {summary["lines_read"]} line(s) read, '
             f'{summary["blank_lines"]} blank, {summary["malformed"]} malformed')
  if summary['malformed']:
    reasons = '; '.join(f'{reason}: {n}' for reason, n in summary['malformed_reasons'].items())
    message += f' ({reasons}); the malformed lines are in {os.path.join(output_uri, QUARANTINE_DIR)}'
  return message


@component(use_beam=True)
def TriplesExampleGen(
    triples_pattern: Parameter[str],
    examples: OutputArtifact[standard_artifacts.Examples],
    split_rule: Parameter[str],
    seed: Parameter[int],
    eval_percent: Parameter[int],
    held_out_attributes: Parameter[str],
    dedupe: Parameter[int],
    input_fingerprint: Parameter[str],
    beam_pipeline: BeamComponentParameter[beam.Pipeline] = None,
):
  """Labelled triples (local or gs:// file pattern) -> train/eval Examples.
  input_fingerprint: as CatalogQuestionGen's, only TFX's cache reads it."""
  rule = splits.SplitRule(split_rule, seed, eval_percent,
                          tuple(a.strip() for a in held_out_attributes.split(',') if a.strip()))
  with beam_pipeline as pipeline:
    write_examples(pipeline, triples_pattern, rule, examples.uri, bool(dedupe))
  examples.split_names = artifact_utils.encode_split_names([splits.TRAIN, splits.EVAL])
  examples.set_string_custom_property('file_format', 'tfrecords_gzip')
  examples.set_string_custom_property('payload_format', 'FORMAT_TF_EXAMPLE')
