"""Answers a later run can reuse (--incremental): a question whose text and attribute were
asked in the previous run, of the same model served the same way, takes that run's answer
instead of asking the model again.

The previous answers are the previous run's PredictionLogs (its InferenceResult). A run
writes every answer it gave, reused or computed, so the next run finds all of them. Which
model answered is its answers_key: the hash of the served model's graph and weights with
the runtime and precision (answers.json beside the logs); a different key reuses nothing.
A question's identity is its text and attribute, never its product ids: the reused answer
goes out with this run's question, so the writer gives it to this run's products.
"""
import hashlib
from typing import Dict, Iterable, Tuple

import apache_beam as beam
import numpy as np
import tensorflow as tf
from tensorflow_serving.apis import prediction_log_pb2

from catalog import questions as cq


def answers_key(model_fingerprint: str, runtime: str, precision: str) -> dict:
  """Which answers a run gives: the same model served the same way gives the same ones."""
  return {'model_fingerprint': model_fingerprint, 'runtime': runtime, 'precision': precision}


def question_key(serialized: bytes) -> bytes:
  """What makes two questions the same question: the text asked and the attribute."""
  feature = tf.train.Example.FromString(serialized).features.feature
  digest = hashlib.sha256(feature['title'].bytes_list.value[0])
  digest.update(b'\x00' + feature['attribute'].bytes_list.value[0])
  return digest.digest()


def is_probe(serialized: bytes) -> bool:
  return cq.KNOWN_VALUE in tf.train.Example.FromString(serialized).features.feature


def answers_of(log: prediction_log_pb2.PredictionLog) -> Iterable[Tuple[bytes, Tuple[str, Dict[str, np.ndarray]]]]:
  """(question key, (signature, {output: the question's value})) for each question of a
  batch's PredictionLog."""
  request, response = log.predict_log.request, log.predict_log.response
  questions = tf.make_ndarray(request.inputs['examples']).reshape(-1)
  outputs = {name: tf.make_ndarray(tensor) for name, tensor in response.outputs.items()}
  for i, serialized in enumerate(questions):
    yield question_key(serialized), (request.model_spec.signature_name,
                                     {name: values[i] for name, values in outputs.items()})


def batch_log(reused) -> prediction_log_pb2.PredictionLog:
  """One PredictionLog of a batch of (this run's question, (signature, outputs)), shaped as
  the served model answers a batch (serving/batch_inference.py)."""
  log = prediction_log_pb2.PredictionLog()
  log.predict_log.request.model_spec.signature_name = reused[0][1][0]
  log.predict_log.request.inputs['examples'].CopyFrom(
      tf.make_tensor_proto([question for question, _ in reused], tf.string))
  for name in reused[0][1][1]:
    log.predict_log.response.outputs[name].CopyFrom(
        tf.make_tensor_proto(np.stack([outputs[name] for _, (_, outputs) in reused])))
  return log


def _split(keyed):
  """Per question key: this run's questions with the previous answer, or to be asked."""
  _, grouped = keyed
  previous = list(grouped['previous'])[:1]
  for question in grouped['questions']:
    if previous:
      yield beam.pvalue.TaggedOutput('reused', (question, previous[0]))
    else:
      yield beam.pvalue.TaggedOutput('to_ask', question)


class ReuseAnswers(beam.PTransform):
  """Serialized questions -> (reused: PredictionLogs of the questions the previous run
  answered, to_ask: the other questions), given the previous run's PredictionLogs
  (previous_pattern)."""

  def __init__(self, previous_pattern: str, batch_size: int):
    super().__init__()
    self._previous_pattern, self._batch_size = previous_pattern, batch_size

  def expand(self, questions):
    previous = (questions.pipeline
                | 'ReadPreviousAnswers' >> beam.io.ReadFromTFRecord(
                    self._previous_pattern, coder=beam.coders.ProtoCoder(prediction_log_pb2.PredictionLog))
                | 'PreviousAnswers' >> beam.FlatMap(answers_of))
    keyed = questions | 'KeyQuestions' >> beam.Map(lambda q: (question_key(q), q))
    split = ({'questions': keyed, 'previous': previous} | 'JoinPrevious' >> beam.CoGroupByKey()
             | 'Split' >> beam.FlatMap(_split).with_outputs('reused', 'to_ask'))
    logs = (split.reused
            | 'BatchReused' >> beam.BatchElements(min_batch_size=self._batch_size, max_batch_size=self._batch_size)
            | 'ReusedLogs' >> beam.Map(batch_log))
    return {'reused': logs, 'reused_questions': split.reused, 'to_ask': split.to_ask}
