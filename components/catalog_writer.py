"""CatalogWriter: the enriched catalog in Parquet, its summary, review queue and run report,
or, for a model the gate did not bless, the reason nothing was filled (catalog/writer.py
and evaluation/run_report.py do the work)."""
import os

import apache_beam as beam
from tfx.dsl.component.experimental.annotations import (BeamComponentParameter, InputArtifact,
                                                        OutputArtifact, Parameter)
from tfx.dsl.component.experimental.decorators import component
from tfx.types import standard_artifacts

from catalog import questions as catalog_questions
from catalog import writer
from catalog.files import read_json
from components.artifacts import CatalogRows, EnrichedCatalog
from evaluation import gate, run_report


@component(use_beam=True)
def CatalogWriter(
    catalog_rows: InputArtifact[CatalogRows],
    inference_result: InputArtifact[standard_artifacts.InferenceResult],
    model: InputArtifact[standard_artifacts.Model],
    enriched_catalog: OutputArtifact[EnrichedCatalog],
    use_description: Parameter[int],
    review_size: Parameter[int],
    model_blessing: InputArtifact[standard_artifacts.ModelBlessing] = None,
    evaluation: InputArtifact[standard_artifacts.ModelEvaluation] = None,
    beam_pipeline: BeamComponentParameter[beam.Pipeline] = None,
):
  """Writes the filled catalog Parquet, or, for an unblessed model, says why not; and
  beside it report.html. No blessing: a model blessed in an earlier run (the enrichment
  pipeline's --model); no evaluation: the report has no gate. review_size: filled values
  per attribute in the review queue (0: none). The target attributes are those
  CatalogQuestionGen asked (its summary)."""
  attributes = catalog_questions.read_summary(catalog_rows.uri)['target_attributes']
  if model_blessing is not None and not model_blessing.get_int_custom_property('blessed'):
    reason = model_blessing.get_string_custom_property('reason') or 'model not blessed'
    writer.write_summary(enriched_catalog.uri, {'filled': False, 'reason': f'model not blessed: {reason}'})
  else:
    version = writer.model_version(model.uri)
    with beam_pipeline as pipeline:
      counts = writer.write_enriched(pipeline, catalog_rows.uri, os.path.join(inference_result.uri, '*'),
                                     enriched_catalog.uri, attributes, version, bool(use_description),
                                     review_size)
      _ = counts | 'Summary' >> beam.Map(writer.finish_summary, catalog_rows.uri, enriched_catalog.uri,
                                         attributes, version, review_size)
  metrics = read_json(evaluation.uri, gate.METRICS_FILE) if evaluation is not None else None
  run_report.write_run_report(enriched_catalog.uri, writer.read_summary(enriched_catalog.uri), metrics,
                              attributes)
