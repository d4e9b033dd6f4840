"""CatalogQuestionGen: the catalog's rows validated, and a question for every missing
attribute of each row's category (catalog/questions.py does the work)."""
import logging

import apache_beam as beam
from tfx.dsl.component.experimental.annotations import BeamComponentParameter, OutputArtifact, Parameter
from tfx.dsl.component.experimental.decorators import component
from tfx.types import artifact_utils, standard_artifacts

from catalog import cost
from catalog import questions as catalog_questions
from components.artifacts import CatalogRows

log = logging.getLogger(__name__)


@component(use_beam=True)
def CatalogQuestionGen(
    catalog_pattern: Parameter[str],
    target_attributes: Parameter[str],
    questions: OutputArtifact[standard_artifacts.Examples],
    catalog_rows: OutputArtifact[CatalogRows],
    category_column: Parameter[str],
    attribute_map: Parameter[str],
    min_category_share: Parameter[float],
    use_description: Parameter[int],
    repredict_known: Parameter[int],
    no_value_tokens: Parameter[str],
    alias_probes: Parameter[int],
    input_fingerprint: Parameter[str],
    beam_pipeline: BeamComponentParameter[beam.Pipeline] = None,
):
  """Catalog Parquet (local or gs:// pattern) -> questions Examples + accepted/quarantined rows.
  target_attributes: comma-separated, '' for the catalog's attribute columns. The summary
  (summary.json) holds the target attributes and each category's, for the later steps.
  input_fingerprint: of the files the pattern matched when the run started, and of the code
  (pipelines/pipeline.py ingest_cache_key); only TFX's cache reads it (new or changed files
  under the same pattern, or new code, make a new cache key)."""
  settings = catalog_questions.Settings(
      tuple(catalog_questions.parse_attributes(target_attributes)), category_column, attribute_map,
      min_category_share, bool(use_description), bool(repredict_known),
      tuple(catalog_questions.parse_attributes(no_value_tokens)), alias_probes)
  with cost.CpuTime() as spent, beam_pipeline as pipeline:
    catalog_questions.build_questions(pipeline, catalog_pattern, catalog_rows.uri, questions.uri, settings)
  cost.add_to(catalog_rows.uri, catalog_questions.SUMMARY_FILE, spent.seconds)
  # Logged here, not in the Beam step: a DirectRunner worker's log never reaches the console.
  for line in catalog_questions.summary_lines(catalog_questions.read_summary(catalog_rows.uri)):
    log.info('%s', line)
  questions.split_names = artifact_utils.encode_split_names([catalog_questions.QUESTIONS_SPLIT])
  questions.set_string_custom_property('file_format', 'tfrecords_gzip')
  questions.set_string_custom_property('payload_format', 'FORMAT_TF_EXAMPLE')
