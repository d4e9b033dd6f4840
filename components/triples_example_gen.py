"""TriplesExampleGen: labelled triples, and triples mined from the values the catalog already
knows, as train/eval Examples in ExampleGen's layout (catalog/ingest.py does the work).

A custom component rather than FileBasedExampleGen because the split rules
(catalog/splits.py) need the parsed title and attribute, not a hash bucket of the
serialized record."""
import logging
import os

import apache_beam as beam
from tfx.dsl.component.experimental.annotations import (BeamComponentParameter, InputArtifact,
                                                        OutputArtifact, Parameter)
from tfx.dsl.component.experimental.decorators import component
from tfx.types import artifact_utils, standard_artifacts

from catalog import ingest, review_queue, splits
from catalog import questions as catalog_questions
from catalog.categories import CategoryRules
from components.artifacts import CatalogRows

log = logging.getLogger(__name__)


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
    use_description: Parameter[int],
    known_not_in_text: Parameter[str],
    no_value_tokens: Parameter[str],
    value_removed_negatives: Parameter[int],
    max_mined_per_attribute: Parameter[int],
    mined_weight: Parameter[float],
    reviewed_pattern: Parameter[str],
    catalog_rows: InputArtifact[CatalogRows] = None,
    beam_pipeline: BeamComponentParameter[beam.Pipeline] = None,
):
  """Labelled triples (local or gs:// file pattern; '' for none) and, given catalog_rows
  (CatalogQuestionGen's accepted rows, with the attributes of each category in its
  summary), the triples mined from their known values -> train/eval Examples;
  reviewed_pattern: filled-in review queues ('' for none); no_value_tokens: comma-separated.
  input_fingerprint: as CatalogQuestionGen's, only TFX's cache reads it."""
  rule = splits.SplitRule(split_rule, seed, eval_percent,
                          tuple(a.strip() for a in held_out_attributes.split(',') if a.strip()))
  reviewed_rows = review_queue.read_reviewed(reviewed_pattern) if reviewed_pattern else []
  mining = None
  if catalog_rows is not None:
    mining = ingest.Mining(
        os.path.join(catalog_rows.uri, 'accepted', '*.parquet'),
        CategoryRules.from_json(catalog_questions.read_summary(catalog_rows.uri)['rules']),
        bool(use_description), known_not_in_text, max_mined_per_attribute, mined_weight,
        ingest.reviewed_keys(reviewed_rows), tuple(catalog_questions.parse_attributes(no_value_tokens)),
        bool(value_removed_negatives))
  with beam_pipeline as pipeline:
    ingest.write_examples(pipeline, triples_pattern, rule, examples.uri, bool(dedupe), mining, reviewed_rows)
  # Logged here, not in the Beam step: a DirectRunner worker's log never reaches the console.
  summary = ingest.read_summary(examples.uri)
  for line in ingest.summary_lines(summary):
    log.info('%s', line)
  ingest.check_splits(summary)
  examples.split_names = artifact_utils.encode_split_names([splits.TRAIN, splits.EVAL])
  examples.set_string_custom_property('file_format', 'tfrecords_gzip')
  examples.set_string_custom_property('payload_format', 'FORMAT_TF_EXAMPLE')
