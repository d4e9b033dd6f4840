"""CatalogBulkInferrer: BulkInferrer's work on the catalog questions, with the batching, runtime
and precision the stock component cannot be told (serving/batch_inference.py does the work).
Same inputs and output as TFX's BulkInferrer: PredictionLogs in an InferenceResult."""
import logging
import os

import apache_beam as beam
import tensorflow as tf
from tfx.dsl.component.experimental.annotations import (BeamComponentParameter, InputArtifact,
                                                        OutputArtifact, Parameter)
from tfx.dsl.component.experimental.decorators import component
from tfx.types import artifact_utils, standard_artifacts

from catalog import cost
from catalog.questions import QUESTIONS_SPLIT
from serving import answer_reuse, batch_inference, inference, model_choice, serving_choice

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
    previous_answers: InputArtifact[standard_artifacts.InferenceResult] = None,
    beam_pipeline: BeamComponentParameter[beam.Pipeline] = None,
):
  """Runs the model on every catalog question: the candidate when the gate blessed it,
  else the served model (served_model: the newest blessed before this run), unless
  fill_only_when_blessed; writes nothing when neither may fill. No blessing: a model
  blessed in an earlier run (the enrichment pipeline's --model). previous_answers: the
  previous run's InferenceResult (--incremental): its answers are reused when the same model,
  served the same way, gave them. runtime, precision: as named, or both 'auto': as the
  blessing of the model that answers says (serving/serving_choice.py)."""
  choice = model_choice.of_artifacts(model, model_blessing, served_model, bool(fill_only_when_blessed))
  if choice.model_uri is None:
    log.info('model not blessed: no inference')
    return
  if choice.served_instead:
    log.info('model not blessed: the served model answers (%s)', choice.model_uri)
  served = serving_choice.of_blessing(runtime, precision, model_blessing, not choice.served_instead)
  runtime, precision = served.runtime, served.precision
  log.info('serving: %s %s (%s)', runtime, precision, served.reason)
  questions = os.path.join(artifact_utils.get_split_uri([examples], QUESTIONS_SPLIT), '*')
  key = answer_reuse.answers_key(inference.model_fingerprint(choice.model_uri), runtime, precision)
  previous = reusable(previous_answers, key)
  with cost.CpuTime() as spent, beam_pipeline as pipeline:
    batch_inference.run_inference(pipeline, questions, inference.serving_dir(choice.model_uri),
                                  inference_result.uri, precision, runtime, batch_size, bucket_size,
                                  answers_key=key, previous_pattern=previous)
  cost.add_to(inference_result.uri, batch_inference.ANSWERS_FILE, spent.seconds)


def reusable(previous_answers, key):
  """The previous run's PredictionLogs when they are answers of the model served as now."""
  if previous_answers is None:
    return None
  summary = batch_inference.read_answers_summary(previous_answers.uri)
  pattern = os.path.join(previous_answers.uri, batch_inference.PREDICTION_LOGS + '*')
  if summary is None or not tf.io.gfile.glob(pattern):
    log.info('--incremental: the previous run wrote no answers (%s): every question is asked', previous_answers.uri)
    return None
  if summary['answers_key'] != key:
    log.info('--incremental: the previous answers came from another model or serving (%s, now %s): '
             'every question is asked', summary['answers_key'], key)
    return None
  return pattern
