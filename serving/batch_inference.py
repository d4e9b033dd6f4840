"""BulkInferrer's work on the catalog questions, with control over how they are batched.

Same inputs and output as TFX's BulkInferrer (the SavedModel's examples signature on
the serialized questions, PredictionLogs in the InferenceResult artifact; nothing runs
for an unblessed model), plus what the stock component cannot be told:

- length bucketing: the model is handed lots of bucket_size questions and runs the
  network on batches of batch_size sorted by length inside the lot (ONNX Runtime: by
  each window's token count), each padded only to its own longest row
  (serving/inference.py). Memory stays bounded by one lot per worker, whatever the
  catalog's size;
- fixed sizes instead of Beam's adaptive batching, which grows batches to thousands of
  rows and would pad them to the longest title of the lot;
- the runtime (TensorFlow or ONNX Runtime) and serving precision (float32, bfloat16, int8).

The model handler is Beam's RunInference API over the served model: it answers with one
PredictionLog per lot, the lot's PredictRequest and PredictResponse as TF Serving answers
a batched request (rather than one PredictionLog per question, built output by output).
"""
import json
import logging
import os
import time
from typing import Any, Dict, Iterable, Optional, Sequence

import apache_beam as beam
import tensorflow as tf
from apache_beam.ml.inference.base import ModelHandler, RunInference
from tensorflow_serving.apis import prediction_log_pb2

from catalog import files
from serving import answer_reuse, inference

log = logging.getLogger(__name__)

PREDICTION_LOGS = 'prediction_logs'
# Beside the logs: which model answered and how many questions it was asked.
ANSWERS_FILE = 'answers.json'
PROGRESS_SECONDS = 30


class Progress:
  """A log line at most every PROGRESS_SECONDS: questions answered so far by this worker."""

  def __init__(self):
    self.count, self.started, self.last = 0, None, 0.0

  def answered(self, questions):
    now = time.time()
    if self.started is None:
      self.started = self.last = now
    self.count += questions
    if now - self.last >= PROGRESS_SECONDS:
      self.last = now
      log.info('bulk inference: %d questions answered (%.0f/s)', self.count,
               self.count / max(now - self.started, 1e-3))


class ServingHandler(ModelHandler):
  """Serialized tf.Examples -> PredictionLogs, one per lot of bucket_size questions, from
  the model in model_dir (local or gs://) served by the runtime at the precision
  (serving/inference.load), which runs the network batch_size rows at a time."""

  def __init__(self, model_dir: str, precision: str, runtime: str, batch_size: int, bucket_size: int):
    super().__init__(min_batch_size=bucket_size, max_batch_size=bucket_size)
    self._model_dir, self._precision, self._runtime = model_dir, precision, runtime
    self._batch_size = batch_size
    self._progress = Progress()

  def load_model(self):
    return inference.load(self._model_dir, self._precision, self._runtime)

  def run_inference(self, batch: Sequence[bytes], model: Any,
                    inference_args: Optional[Dict[str, Any]] = None) -> Iterable[Any]:
    outputs = model.answer(batch, self._batch_size)
    self._progress.answered(len(batch))
    log = prediction_log_pb2.PredictionLog()
    log.predict_log.request.model_spec.signature_name = model.name
    log.predict_log.request.inputs['examples'].CopyFrom(tf.make_tensor_proto(list(batch), tf.string))
    for name, tensor in outputs.items():
      log.predict_log.response.outputs[name].CopyFrom(tf.make_tensor_proto(tensor))
    return [log]

  def get_num_bytes(self, batch: Sequence[bytes]) -> int:
    return sum(len(record) for record in batch)

  def get_metrics_namespace(self) -> str:
    return 'CatalogBulkInferrer'


def _write_answers_summary(counts, output_uri, key):
  summary = {'answers_key': key, 'asked': counts.get('asked', 0), 'reused': counts.get('reused', 0),
             'reused_probes': counts.get('reused_probes', 0)}
  with tf.io.gfile.GFile(os.path.join(output_uri, ANSWERS_FILE), 'w') as f:
    json.dump(summary, f, indent=2)


def read_answers_summary(output_uri):
  """The answers.json of an InferenceResult (None: written before it existed)."""
  return files.read_json(output_uri, ANSWERS_FILE)


def run_inference(pipeline, questions_pattern, model_dir, output_uri, precision, runtime, batch_size,
                  bucket_size, num_shards=0, answers_key='', previous_pattern=None):
  """Beam part: questions (gzipped TFRecords of serialized tf.Example, passed to the
  model as they are) -> PredictionLog TFRecords, and answers.json: how many questions the
  model was asked and how many took the previous run's answer (previous_pattern: its
  PredictionLogs, from a model with the same answers_key; serving/answer_reuse.py)."""
  questions = pipeline | 'ReadQuestions' >> beam.io.ReadFromTFRecord(questions_pattern)
  counts = []
  if previous_pattern:
    split = questions | 'ReuseAnswers' >> answer_reuse.ReuseAnswers(previous_pattern, batch_size)
    questions, reused = split['to_ask'], split['reused']
    counts.append(split['reused_questions'] | 'CountReused' >> beam.Map(
        lambda reused: ('reused_probes' if answer_reuse.is_probe(reused[0]) else 'reused', 1)))
  counts.append(questions | 'CountAsked' >> beam.Map(lambda _: ('asked', 1)))
  logs = questions | 'RunInference' >> RunInference(
      ServingHandler(model_dir, precision, runtime, batch_size, bucket_size))
  if previous_pattern:
    logs = (logs, reused) | 'WithReused' >> beam.Flatten()
  _ = (counts | 'AllCounts' >> beam.Flatten() | 'Sum' >> beam.CombinePerKey(sum)
       | 'ToDict' >> beam.combiners.ToDict()
       | 'AnswersSummary' >> beam.Map(_write_answers_summary, output_uri, answers_key))
  return logs | 'WritePredictionLogs' >> beam.io.WriteToTFRecord(
      os.path.join(output_uri, PREDICTION_LOGS), file_name_suffix='.gz', num_shards=num_shards,
      coder=beam.coders.ProtoCoder(prediction_log_pb2.PredictionLog))
