"""CatalogBulkInferrer: BulkInferrer's work on the catalog questions, with the batching, runtime
and precision the stock component cannot be told (serving/batch_inference.py does the work).
Same inputs and output as TFX's BulkInferrer: PredictionLogs in an InferenceResult."""
import logging
import os

import apache_beam as beam
from tfx.dsl.component.experimental.annotations import (BeamComponentParameter, InputArtifact,
                                                        OutputArtifact, Parameter)
from tfx.dsl.component.experimental.decorators import component
from tfx.types import artifact_utils, standard_artifacts

from catalog.questions import QUESTIONS_SPLIT
from serving import batch_inference, model_choice
from serving.inference import serving_dir

log = logging.getLogger(__name__)


@component(use_beam=True)
def CatalogBulkInferrer(
    examples: InputArtifact[standard_artifacts.Examples],
    model: InputArtifact[standard_artifacts.Model],
    inference_result: OutputArtifact[standard_artifacts.InferenceResult],
    precision: Parameter[str],
    runtime: Parameter[str],
    batch_size: Parameter[int],
    bucket_size: Parameter[int],
    fill_only_when_blessed: Parameter[int],
    model_blessing: InputArtifact[standard_artifacts.ModelBlessing] = None,
    served_model: InputArtifact[standard_artifacts.Model] = None,
    beam_pipeline: BeamComponentParameter[beam.Pipeline] = None,
):
  """Runs the model on every catalog question: the candidate when the gate blessed it,
  else the served model (served_model: the newest blessed before this run), unless
  fill_only_when_blessed; writes nothing when neither may fill. No blessing: a model
  blessed in an earlier run (the enrichment pipeline's --model)."""
  choice = model_choice.of_artifacts(model, model_blessing, served_model, bool(fill_only_when_blessed))
  if choice.model_uri is None:
    log.info('model not blessed: no inference')
    return
  if choice.served_instead:
    log.info('model not blessed: the served model answers (%s)', choice.model_uri)
  questions = os.path.join(artifact_utils.get_split_uri([examples], QUESTIONS_SPLIT), '*')
  with beam_pipeline as pipeline:
    batch_inference.run_inference(pipeline, questions, serving_dir(choice.model_uri), inference_result.uri,
                                  precision, runtime, batch_size, bucket_size)
