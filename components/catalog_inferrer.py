"""BulkInferrer's work on the catalog questions, with control over how they are batched.

Same inputs, output and inference code as TFX's BulkInferrer (tfx-bsl's model handler on
the SavedModel's examples signature, PredictionLogs in the InferenceResult artifact;
nothing runs for an unblessed model), plus what the stock component cannot be told:

- length bucketing: questions are read in chunks of bucket_size, each chunk sorted by
  record length (the title dominates it), so consecutive batches hold questions of
  similar length and each is padded only to its own longest row. Memory stays bounded
  by one chunk per worker, whatever the catalog's size;
- a fixed batch size instead of Beam's adaptive one, which grows batches to
  thousands of rows and so pads them to the longest title of the lot. tfx-bsl's
  RunInference transform drops the spec's batch_parameters (its wrapper around the
  model handler does not pass them on to Beam: batches of 1, 2, 4 … 4,096 were seen),
  so the step runs Beam's RunInference on tfx-bsl's model handler, which does;
- the signature, i.e. the serving precision (float32, bfloat16 or int8).
"""
import os

import apache_beam as beam
from tfx.dsl.component.experimental.annotations import BeamComponentParameter, InputArtifact, OutputArtifact, Parameter
from tfx.dsl.component.experimental.decorators import component
from tfx.types import artifact_utils, standard_artifacts
from apache_beam.ml.inference.base import RunInference
from tfx_bsl.public.beam.run_inference import CreateModelHandler
from tfx_bsl.public.proto import model_spec_pb2

from components.catalog_questions import QUESTIONS_SPLIT
from components.inference import serving_dir
from components.trainer import signature_names

PREDICTION_LOGS = 'prediction_logs'


def sorted_chunks(records, bucket_size):
  """The records re-ordered by length inside consecutive chunks of bucket_size."""
  return (records
          | 'Chunk' >> beam.BatchElements(min_batch_size=bucket_size, max_batch_size=bucket_size)
          | 'SortByLength' >> beam.FlatMap(lambda chunk: sorted(chunk, key=len)))


def inference_spec(model_dir, precision, batch_size):
  return model_spec_pb2.InferenceSpecType(
      saved_model_spec=model_spec_pb2.SavedModelSpec(
          model_path=model_dir, signature_name=[signature_names(precision)[0]], tag=['serve']),
      batch_parameters=model_spec_pb2.BatchParameters(min_batch_size=batch_size,
                                                      max_batch_size=batch_size))


def run_inference(pipeline, questions_pattern, model_dir, output_uri, precision='float32',
                  batch_size=256, bucket_size=8192, num_shards=0):
  """Beam part: questions (gzipped TFRecords of serialized tf.Example, passed to the
  model as they are) -> PredictionLog TFRecords."""
  from tensorflow_serving.apis import prediction_log_pb2
  records = pipeline | 'ReadQuestions' >> beam.io.ReadFromTFRecord(questions_pattern)
  return (sorted_chunks(records, bucket_size)
          | 'RunInference' >> RunInference(CreateModelHandler(inference_spec(model_dir, precision, batch_size)))
          | 'WritePredictionLogs' >> beam.io.WriteToTFRecord(
              os.path.join(output_uri, PREDICTION_LOGS), file_name_suffix='.gz', num_shards=num_shards,
              coder=beam.coders.ProtoCoder(prediction_log_pb2.PredictionLog)))


@component(use_beam=True)
def CatalogBulkInferrer(
    examples: InputArtifact[standard_artifacts.Examples],
    model: InputArtifact[standard_artifacts.Model],
    model_blessing: InputArtifact[standard_artifacts.ModelBlessing],
    inference_result: OutputArtifact[standard_artifacts.InferenceResult],
    precision: Parameter[str] = 'float32',
    batch_size: Parameter[int] = 256,
    bucket_size: Parameter[int] = 8192,
    beam_pipeline: BeamComponentParameter[beam.Pipeline] = None,
):
  """Runs the blessed model on every catalog question; writes nothing for an unblessed one."""
  if not model_blessing.get_int_custom_property('blessed'):
    print('CatalogBulkInferrer: model not blessed, no inference')
    return
  questions = os.path.join(artifact_utils.get_split_uri([examples], QUESTIONS_SPLIT), '*')
  with beam_pipeline as pipeline:
    run_inference(pipeline, questions, serving_dir(model.uri), inference_result.uri,
                  precision, batch_size, bucket_size)
