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
from serving import batch_inference
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
    model_blessing: InputArtifact[standard_artifacts.ModelBlessing] = None,
    beam_pipeline: BeamComponentParameter[beam.Pipeline] = None,
):
  """Runs the model on every catalog question; writes nothing for an unblessed one. No
  blessing: a model blessed in an earlier run (the enrichment pipeline's --model)."""
  if model_blessing is not None and not model_blessing.get_int_custom_property('blessed'):
    log.info('model not blessed: no inference')
    return
  questions = os.path.join(artifact_utils.get_split_uri([examples], QUESTIONS_SPLIT), '*')
  with beam_pipeline as pipeline:
    batch_inference.run_inference(pipeline, questions, serving_dir(model.uri), inference_result.uri,
                                  precision, runtime, batch_size, bucket_size)
