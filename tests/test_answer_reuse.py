"""--incremental: a question the previous run answered, with the same model served the same
way, takes that answer; everything else is asked (serving/answer_reuse.py)."""
import numpy as np
import pytest
import apache_beam as beam
import tensorflow as tf
from apache_beam.testing.util import assert_that, equal_to
from tensorflow_serving.apis import prediction_log_pb2

from catalog import questions as cq
from components.catalog_inferrer import reusable
from serving import answer_reuse, batch_inference
from serving.inference import model_fingerprint


def _question(ids, text, attribute, known=None):
  return cq.question(text, attribute, ids, known)


def _log(questions, values, confidences):
  log = prediction_log_pb2.PredictionLog()
  log.predict_log.request.model_spec.signature_name = 'serving_default'
  log.predict_log.request.inputs['examples'].CopyFrom(tf.make_tensor_proto(questions, tf.string))
  log.predict_log.response.outputs['value'].CopyFrom(tf.make_tensor_proto(np.array(values, object)[:, None]))
  log.predict_log.response.outputs['confidence'].CopyFrom(
      tf.make_tensor_proto(np.array(confidences, np.float32)[:, None]))
  return log


def test_questions_asked_before_take_the_previous_answer_for_this_runs_products(tmp_path):
  previous = str(tmp_path / 'previous.tfrecord')
  with tf.io.TFRecordWriter(previous) as f:
    f.write(_log([_question(['A'], 'Trailwise Shoes Black', 'Color'),
                  _question(['A'], 'Trailwise Shoes Black', 'Brand'),
                  _question(['B'], 'Oakwood Desk', 'Material')],
                 [b'Black', b'Trailwise', b''], [0.9, 0.8, 0.3]).SerializeToString())
  now = [_question(['A', 'C'], 'Trailwise Shoes Black', 'Color'),   # same text: C is a new variant
         _question(['A'], 'Trailwise Shoes Black', 'Brand', 'Trailwise'),   # an alias probe of it
         _question(['B'], 'Oakwood Desk, walnut', 'Material'),      # the text changed
         _question(['D'], 'Oakwood Desk', 'Color')]                 # an attribute not asked before
  with beam.Pipeline() as pipeline:
    split = pipeline | beam.Create(now) | answer_reuse.ReuseAnswers(previous, batch_size=8)
    _ = split['reused'] | beam.io.WriteToTFRecord(str(tmp_path / 'reused'), num_shards=1,
                                                  coder=beam.coders.ProtoCoder(prediction_log_pb2.PredictionLog))
    assert_that(split['to_ask'], equal_to(now[2:]))
  answers = {}
  for serialized in tf.data.TFRecordDataset(tf.io.gfile.glob(str(tmp_path / 'reused*'))).as_numpy_iterator():
    log = prediction_log_pb2.PredictionLog.FromString(serialized)
    questions = tf.make_ndarray(log.predict_log.request.inputs['examples']).reshape(-1)
    values = tf.make_ndarray(log.predict_log.response.outputs['value']).reshape(-1)
    confidences = tf.make_ndarray(log.predict_log.response.outputs['confidence']).reshape(-1)
    assert log.predict_log.response.outputs['value'].tensor_shape.dim[1].size == 1   # [B, 1] as served
    answers.update({q: (v, pytest.approx(float(c))) for q, v, c in zip(questions, values, confidences)})
  # This run's questions (their products, the probe's known value) with the previous answers.
  assert answers == {now[0]: (b'Black', 0.9), now[1]: (b'Trailwise', 0.8)}


def test_answers_are_reused_only_from_the_same_model_served_the_same_way(tmp_path):
  class Artifact:
    uri = str(tmp_path)
  key = answer_reuse.answers_key('abc', 'onnx', 'int8')
  assert reusable(None, key) is None                       # no previous run
  assert reusable(Artifact, key) is None                   # a previous run that answered nothing
  with tf.io.TFRecordWriter(str(tmp_path / (batch_inference.PREDICTION_LOGS + '-00000-of-00001.gz')), 'GZIP') as f:
    f.write(_log([_question(['A'], 't', 'Color')], [b'x'], [0.5]).SerializeToString())
  batch_inference._write_answers_summary({'asked': 1}, str(tmp_path), key)
  assert reusable(Artifact, key).endswith(batch_inference.PREDICTION_LOGS + '*')
  for changed in (answer_reuse.answers_key('abd', 'onnx', 'int8'), answer_reuse.answers_key('abc', 'tensorflow', 'int8'),
                  answer_reuse.answers_key('abc', 'onnx', 'float32')):
    assert reusable(Artifact, changed) is None


def test_a_models_fingerprint_changes_with_its_weights_not_its_folder(tmp_path):
  def model(name, weights):
    folder = tmp_path / name
    (folder / 'variables').mkdir(parents=True)
    (folder / 'saved_model.pb').write_bytes(b'graph')
    (folder / 'variables' / 'variables.data-00000-of-00001').write_bytes(weights)
    (folder / 'variables' / 'variables.index').write_bytes(b'index')
    return str(folder)
  assert model_fingerprint(model('a', b'w1')) == model_fingerprint(model('b', b'w1'))
  assert model_fingerprint(model('c', b'w2')) != model_fingerprint(str(tmp_path / 'a'))
