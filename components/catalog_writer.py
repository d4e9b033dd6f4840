"""CatalogWriter: the enriched catalog in Parquet, its summary, review queue and run report,
or the reason nothing was filled (catalog/writer.py and evaluation/run_report.py do the
work; serving/model_choice.py says which model filled)."""
import os

import apache_beam as beam
from tfx.dsl.component.experimental.annotations import (BeamComponentParameter, InputArtifact,
                                                        OutputArtifact, Parameter)
from tfx.dsl.component.experimental.decorators import component
from tfx.types import standard_artifacts

from catalog import cost
from catalog import questions as catalog_questions
from catalog import writer
from catalog.files import read_json
from components.artifacts import CatalogRows, EnrichedCatalog
from evaluation import gate, run_report
from serving import batch_inference, inference, model_choice


@component(use_beam=True)
def CatalogWriter(
    catalog_rows: InputArtifact[CatalogRows],
    inference_result: InputArtifact[standard_artifacts.InferenceResult],
    model: InputArtifact[standard_artifacts.Model],
    enriched_catalog: OutputArtifact[EnrichedCatalog],
    use_description: Parameter[int],
    review_size: Parameter[int],
    fill_only_when_blessed: Parameter[int],
    target_precision: Parameter[float],
    attribute_precision: Parameter[str],
    value_aliases: Parameter[str],
    no_value_tokens: Parameter[str],
    one_attribute_per_value: Parameter[int],
    model_blessing: InputArtifact[standard_artifacts.ModelBlessing] = None,
    evaluation: InputArtifact[standard_artifacts.ModelEvaluation] = None,
    served_model: InputArtifact[standard_artifacts.Model] = None,
    beam_pipeline: BeamComponentParameter[beam.Pipeline] = None,
):
  """Writes the filled catalog Parquet, filled by the model CatalogBulkInferrer chose (the
  blessed candidate, else the served model), or says why nothing was filled; and beside
  it report.html. No blessing: a model blessed in an earlier run (the enrichment
  pipeline's --model); no evaluation: the report has no gate. review_size: filled values
  per attribute in the review queue (0: none). The target attributes are those
  CatalogQuestionGen asked (its summary). target_precision (0: none), attribute_precision,
  value_aliases, no_value_tokens, one_attribute_per_value: catalog/config.py's FillConfig
  and DataConfig; the precision targets are met on the eval split the gate scored the
  filling model on (the fill evidence its blessing holds)."""
  attributes = catalog_questions.read_summary(catalog_rows.uri)['target_attributes']
  choice = model_choice.of_artifacts(model, model_blessing, served_model, bool(fill_only_when_blessed))
  rules = writer.fill_rules(attributes, target_precision or None, attribute_precision, value_aliases,
                            catalog_questions.parse_attributes(no_value_tokens),
                            model_blessing.uri if model_blessing is not None else None, choice.served_instead,
                            bool(one_attribute_per_value))
  if choice.model_uri is None:
    writer.write_summary(enriched_catalog.uri, {'filled': False, 'reason': f'model not blessed: {choice.refusal}'})
  else:
    answers = batch_inference.read_answers_summary(inference_result.uri)
    version = inference.model_version(choice.model_uri, answers and answers['answers_key']['model_fingerprint'])
    with cost.CpuTime() as spent, beam_pipeline as pipeline:
      counts = writer.write_enriched(pipeline, catalog_rows.uri,
                                     os.path.join(inference_result.uri, batch_inference.PREDICTION_LOGS + '*'),
                                     enriched_catalog.uri, attributes, version, bool(use_description),
                                     review_size, rules)
      _ = counts | 'Summary' >> beam.Map(writer.finish_summary, catalog_rows.uri, enriched_catalog.uri,
                                         attributes, version, review_size,
                                         choice.refusal if choice.served_instead else '', rules, answers)
    writer.record_cost(enriched_catalog.uri, spent.seconds)
  metrics = read_json(evaluation.uri, gate.METRICS_FILE) if evaluation is not None else None
  run_report.write_run_report(enriched_catalog.uri, writer.read_summary(enriched_catalog.uri), metrics,
                              attributes, rules.thresholds)
