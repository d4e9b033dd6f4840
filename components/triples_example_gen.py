"""ExampleGen for labelled triples: text lines -> train/eval tf.Examples, by a split rule.

A custom component rather than FileBasedExampleGen because the split rules
(components/splits.py) need the parsed title and attribute, not a hash bucket of the
serialized record. Output layout is ExampleGen's (Split-*/ gzipped TFRecords), so
StatisticsGen, Transform and the rest read it as usual. Malformed lines go to
quarantine/ with their reason, and ingest_summary.json counts everything.
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


def _route(raw_line, rule):
  parsed = triples.parse_line(raw_line)
  if isinstance(parsed, str):
    text = raw_line.decode('utf-8', errors='replace')
    return 'malformed', json.dumps({'line': text, 'reason': parsed}, ensure_ascii=False)
  status = 'aligned' if parsed.span else ('null' if parsed.is_null else 'value_not_in_title')
  split = rule.split_of(raw_line.decode('utf-8'), parsed.title, parsed.attribute)
  return split, (status, triples.to_example(parsed).SerializeToString())


def write_examples(pipeline, triples_pattern, rule, output_uri, dedupe=True):
  """Beam part of the component, also used by tests and scripts without TFX."""
  lines = (pipeline
           | 'Read' >> beam.io.ReadFromText(triples_pattern, coder=beam.coders.BytesCoder(),
                                            strip_trailing_newlines=True)
           | 'DropBlank' >> beam.Filter(lambda line: line.strip()))
  if dedupe:   # AE-pub-21k protocol: the union of its files, de-duplicated by whole line
    lines = lines | 'Dedupe' >> beam.Distinct()
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
               | 'MalformedJson' >> beam.Map(lambda kv: kv[1]))
  _ = malformed | 'WriteQuarantine' >> beam.io.WriteToText(
      os.path.join(output_uri, 'quarantine', 'malformed_lines'), file_name_suffix='.jsonl')

  counts = [outputs[s] | f'Count[{s}]' >> beam.Map(lambda sv, s=s: (f'{s}.{sv[0]}', 1))
            for s in outputs]
  counts.append(malformed | 'CountMalformed' >> beam.Map(lambda _: ('malformed', 1)))
  _ = (counts | 'Flatten' >> beam.Flatten() | 'Sum' >> beam.CombinePerKey(sum)
       | 'ToDict' >> beam.combiners.ToDict()
       | 'Summary' >> beam.Map(_write_summary, output_uri, rule))


def _write_summary(counts, output_uri, rule):
  import tensorflow as tf
  summary = {'split_rule': {'rule': rule.rule, 'seed': rule.seed, 'eval_percent': rule.eval_percent,
                            'held_out_attributes': list(rule.held_out_attributes)},
             'counts': dict(sorted(counts.items()))}
  for split in (splits.TRAIN, splits.EVAL):
    summary[f'{split}_examples'] = sum(v for k, v in counts.items() if k.startswith(split + '.'))
  with tf.io.gfile.GFile(os.path.join(output_uri, SUMMARY_FILE), 'w') as f:
    json.dump(summary, f, indent=2)
  log.info('triples: %s', ', '.join(f'{k} {v}' for k, v in summary['counts'].items()))


@component(use_beam=True)
def TriplesExampleGen(
    triples_pattern: Parameter[str],
    examples: OutputArtifact[standard_artifacts.Examples],
    split_rule: Parameter[str],
    seed: Parameter[int],
    eval_percent: Parameter[int],
    held_out_attributes: Parameter[str],
    dedupe: Parameter[int],
    beam_pipeline: BeamComponentParameter[beam.Pipeline] = None,
):
  """Labelled triples (local or gs:// file pattern) -> train/eval Examples."""
  rule = splits.SplitRule(split_rule, seed, eval_percent,
                          tuple(a.strip() for a in held_out_attributes.split(',') if a.strip()))
  with beam_pipeline as pipeline:
    write_examples(pipeline, triples_pattern, rule, examples.uri, bool(dedupe))
  examples.split_names = artifact_utils.encode_split_names([splits.TRAIN, splits.EVAL])
  examples.set_string_custom_property('file_format', 'tfrecords_gzip')
  examples.set_string_custom_property('payload_format', 'FORMAT_TF_EXAMPLE')
