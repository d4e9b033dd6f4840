"""How the writer fills cells beyond the model's answer: the catalog's spelling (aliases
learned from probes, a user's table) and per-attribute precision thresholds, through
question generation and the Parquet writer, with answers scripted per question."""
import glob
import json
import os

import apache_beam as beam
import numpy as np
import pytest
import pyarrow as pa
import pyarrow.parquet as pq
import tensorflow as tf
from tensorflow_serving.apis import prediction_log_pb2

from catalog import questions as cq
from catalog import review_queue, vocabulary
from catalog import writer as cw

ATTRIBUTES = ['Brand', 'Color', 'Material']
KNOWN = [{'product_id': f'K{i}', 'title': f'HP ProBook {i} Silver Aluminium', 'Brand': 'Hewlett-Packard',
          'Color': 'Silver', 'Material': 'n/a'} for i in range(3)]
TO_FILL = [{'product_id': 'F1', 'title': 'HP EliteBook SILVER'},
           {'product_id': 'F2', 'title': 'Dellora Laptop Black'}]


def _answer(question):
  """The scripted model: (span, confidence) per question."""
  f = question.features.feature
  product, attribute = (f[k].bytes_list.value[0].decode() for k in ('product_id', 'attribute'))
  if attribute == 'Brand':
    return ('HP', 0.9) if product != 'F2' else ('Dellora', 0.6)
  if attribute == 'Color':
    return ('SILVER', 0.95) if product != 'F2' else ('Black', 0.5)
  return ('Aluminium', 0.99)


def _run(tmp_path, rules, rows=KNOWN + TO_FILL, answer=_answer):
  path = tmp_path / 'catalog' / 'part-0.parquet'
  os.makedirs(path.parent, exist_ok=True)
  schema = pa.schema([(c, pa.string()) for c in ['product_id', 'title'] + ATTRIBUTES])
  pq.write_table(pa.Table.from_pylist(rows, schema=schema), str(path))
  rows_uri, questions_uri = str(tmp_path / 'rows'), str(tmp_path / 'questions')
  with beam.Pipeline() as pipeline:
    cq.build_questions(pipeline, str(path), rows_uri, questions_uri, cq.Settings(tuple(ATTRIBUTES)))
  questions = [tf.train.Example.FromString(r.numpy()) for r in tf.data.TFRecordDataset(
      glob.glob(os.path.join(questions_uri, '*', '*')), compression_type='GZIP')]
  log = prediction_log_pb2.PredictionLog()
  log.predict_log.request.inputs['examples'].CopyFrom(tf.make_tensor_proto([q.SerializeToString() for q in questions]))
  spans, confidences = zip(*map(answer, questions))
  log.predict_log.response.outputs['value'].CopyFrom(tf.make_tensor_proto(np.array(spans)[:, None]))
  log.predict_log.response.outputs['confidence'].CopyFrom(
      tf.make_tensor_proto(np.array(confidences, np.float32)[:, None]))
  predictions = str(tmp_path / 'predictions' / 'logs.tfrecord')
  os.makedirs(os.path.dirname(predictions))
  with tf.io.TFRecordWriter(predictions) as f:
    f.write(log.SerializeToString())
  output_uri = str(tmp_path / 'enriched')
  with beam.Pipeline() as pipeline:
    counts = cw.write_enriched(pipeline, rows_uri, predictions, output_uri, ATTRIBUTES, 'm1', True, 10, rules)
    _ = counts | beam.Map(cw.finish_summary, rows_uri, output_uri, ATTRIBUTES, 'm1', 10, '', rules)
  with open(os.path.join(output_uri, cw.SUMMARY_FILE)) as f:
    summary = json.load(f)
  out = {r['product_id']: r for r in pq.read_table(glob.glob(summary['catalog_files'])[0]).to_pylist()}
  queue = pq.read_table(review_queue.queue_paths(output_uri)['parquet']).to_pylist()
  return questions, summary, out, queue


def test_values_take_the_catalogs_spelling_learned_from_its_known_values(tmp_path):
  questions, summary, out, _ = _run(tmp_path, cw.FillRules(no_value_tokens=('n/a',)))
  # Known Brand and Color cells were asked again (the n/a marker is no value to learn from).
  assert summary['vocabulary']['alias_probes_answered'] == 6
  assert not any(q.features.feature['attribute'].bytes_list.value == [b'Material']
                 and cq.KNOWN_VALUE in q.features.feature for q in questions)
  # "HP" stood for Hewlett-Packard three times: an alias; "SILVER" is "Silver" by its key.
  assert (out['F1']['brand__value'], out['F1']['brand__span']) == ('Hewlett-Packard', 'HP')
  assert (out['F1']['color__value'], out['F1']['color__span']) == ('Silver', 'SILVER')
  assert out['F2']['brand__value'] == 'Dellora'      # new to the catalog: the text's spelling
  assert out['F1']['material__value'] == 'Aluminium'  # the marker is not a vocabulary word
  # Probes fill nothing: known rows keep their cells.
  assert all(out[k]['brand__value'] is None and out[k]['brand__model_version'] is None for k in ('K0', 'K1', 'K2'))
  assert summary['spelling'] == {vocabulary.BY_KEY: 1, vocabulary.BY_USER_ALIAS: 0,
                                 vocabulary.BY_LEARNED_ALIAS: 1, vocabulary.OUTSIDE: 4}
  assert summary['vocabulary']['learned_aliases'] == 1


def test_a_users_alias_table_wins(tmp_path):
  table = vocabulary.parse_aliases('Brand,HP,HP Inc.\n', 'a.csv', ATTRIBUTES)
  _, _, out, _ = _run(tmp_path, cw.FillRules(user_aliases=table, no_value_tokens=('n/a',)))
  assert (out['F1']['brand__value'], out['F1']['brand__span']) == ('HP Inc.', 'HP')


def _chosen(threshold):
  return {'target': 0.9, 'threshold': threshold, 'eval_fills': 0, 'expected_precision': None,
          'lower_bound': None, 'recall': 0.0, 'eval_gold_values': 0, 'curve': []}


def test_values_below_their_attributes_threshold_are_withheld_and_queued_first(tmp_path):
  rules = cw.FillRules(thresholds={'Brand': _chosen(0.7), 'Material': _chosen(None)}, no_value_tokens=('n/a',))
  _, summary, out, queue = _run(tmp_path, rules)
  assert out['F1']['brand__value'] == 'Hewlett-Packard'                     # 0.9 >= 0.7
  assert out['F2']['brand__value'] is None and out['F2']['brand__span'] == 'Dellora'   # 0.6: withheld
  assert out['F2']['brand__confidence'] == pytest.approx(0.6)
  assert out['F2']['color__value'] == 'Black'                               # no target: the model's own
  assert all(r['material__value'] is None for r in out.values())           # target not reachable
  assert summary['values_filled'] == {'Brand': 1, 'Color': 2, 'Material': 0}
  assert summary['values_withheld'] == {'Brand': 1, 'Color': 0, 'Material': 2}
  assert summary['precision_targets']['Material']['threshold'] is None
  brand = [r for r in queue if r['attribute'] == 'Brand']
  # Dellora is outside the vocabulary: first, though 0.1 from the threshold against HP's 0.2.
  assert [(r['product_id'], r['filled'], r['in_vocabulary'], r['threshold']) for r in brand] == [
      ('F2', False, False, 0.7), ('F1', True, True, 0.7)]
  assert {r['product_id'] for r in queue if r['attribute'] == 'Material'} == {'F1', 'F2'}


def test_a_question_repeated_by_several_rows_is_asked_once_and_answered_for_each(tmp_path):
  variants = [dict(TO_FILL[0], product_id=f'V{i}') for i in range(3)]     # the same text three times
  questions, summary, out, _ = _run(tmp_path, cw.FillRules(no_value_tokens=('n/a',)), KNOWN + TO_FILL + variants)
  to_fill = [q for q in questions if cq.KNOWN_VALUE not in q.features.feature]
  assert len(to_fill) == 6 and sum(summary['questions'].values()) == 15   # F1 and F2's, V* share F1's
  assert summary['questions_asked'] == 6 and summary['questions_reused'] == 0
  # Run outside the components, no step recorded its CPU time: no cost is made up.
  assert summary['cost']['cpu_seconds']['total'] is None and not summary['cost']['complete']
  shared = [q for q in to_fill if len(q.features.feature[cq.ID].bytes_list.value) > 1]
  assert {tuple(q.features.feature[cq.ID].bytes_list.value) for q in shared} == {(b'F1', b'V0', b'V1', b'V2')}
  for variant in ('V0', 'V1', 'V2'):
    assert ({k: v for k, v in out[variant].items() if '__' in k}
            == {k: v for k, v in out['F1'].items() if '__' in k})
  assert summary['rows_out'] == len(KNOWN + TO_FILL + variants)


# Rows where the scripted model reads one span for two attributes.
CONFUSED = [
    {'product_id': 'S1', 'title': 'Steelline Chair Steel', 'Color': 'Steel', 'Material': 'Steel'},   # the two share
    {'product_id': 'C1', 'title': 'Oakley Oak Desk'},
    {'product_id': 'C2', 'title': 'Grey steel shelf'},
    {'product_id': 'C3', 'title': 'Walnut lamp', 'Brand': 'Walnut'},
    {'product_id': 'C4', 'title': 'Walnut walnut stool'}]
CONFUSED_ANSWERS = {('C1', 'Brand'): ('Oak', 0.7), ('C1', 'Material'): ('Oak', 0.9),
                    ('C2', 'Color'): ('steel', 0.6), ('C2', 'Material'): ('Steel', 0.8),
                    ('C3', 'Material'): ('walnut', 0.99),
                    ('C4', 'Brand'): ('Walnut', 0.5), ('C4', 'Material'): ('walnut', 0.95)}


def _confused_answer(question):
  f = question.features.feature
  product, attribute = (f[k].bytes_list.value[0].decode() for k in ('product_id', 'attribute'))
  confused = product in {row['product_id'] for row in CONFUSED}
  return CONFUSED_ANSWERS.get((product, attribute), ('', 0.1) if confused else _answer(question))


def test_a_value_found_for_two_attributes_fills_one_unless_the_catalog_shows_them_sharing(tmp_path):
  _, summary, out, queue = _run(tmp_path, cw.FillRules(no_value_tokens=('n/a',)), KNOWN + TO_FILL + CONFUSED,
                                _confused_answer)
  # "Oak" for Brand (0.7) and Material (0.9), and no row knows Brand and Material alike: Material's.
  assert (out['C1']['brand__value'], out['C1']['brand__span']) == (None, 'Oak')
  assert out['C1']['material__value'] == 'Oak'
  # Color and Material hold one value in S1: both filled.
  assert (out['C2']['color__value'], out['C2']['material__value']) == ('Steel', 'Steel')
  # C3 knows Brand "Walnut": the text's "walnut" is not also its material.
  assert out['C3']['material__value'] is None and out['C3']['material__span'] == 'walnut'
  # The catalog knows Walnut as a brand, never as a material: Brand holds it, though less sure.
  assert (out['C4']['brand__value'], out['C4']['material__value']) == ('Walnut', None)
  # The rest as without the rule: F1's HP, SILVER and Aluminium are three values.
  assert [out['F1'][c] for c in ('brand__value', 'color__value', 'material__value')] == [
      'Hewlett-Packard', 'Silver', 'Aluminium']
  assert summary['values_claimed'] == {'Brand': 1, 'Color': 0, 'Material': 2}
  assert summary['shared_values'] == [['Color', 'Material', 1]]
  claimed = {(r['product_id'], r['attribute']): (r['filled'], r['claimed_by']) for r in queue}
  assert claimed[('C1', 'Brand')] == (False, 'Material') and claimed[('C3', 'Material')] == (False, 'Brand')
  assert claimed[('C4', 'Material')] == (False, 'Brand')
  assert claimed[('C1', 'Material')] == (True, None) and claimed[('C2', 'Color')] == (True, None)


def test_without_the_rule_every_value_found_fills(tmp_path):
  rules = cw.FillRules(no_value_tokens=('n/a',), one_attribute_per_value=False)
  _, summary, out, _ = _run(tmp_path, rules, KNOWN + TO_FILL + CONFUSED, _confused_answer)
  assert (out['C1']['brand__value'], out['C1']['material__value'], out['C3']['material__value']) == (
      'Oak', 'Oak', 'walnut')
  assert sum(summary['values_claimed'].values()) == 0


def test_attributes_that_cannot_reach_their_target_are_one_console_line(tmp_path, caplog):
  from evaluation import precision_targets
  attributes = [f'Attribute {i}' for i in range(40)] + ['Brand']
  evidence = {a: {'gold_values': 3, 'fills': [[0.9, 1], [0.8, 0], [0.7, 1]]} for a in attributes}
  evidence['Brand'] = {'gold_values': 200, 'fills': [[0.99, 1]] * 200}
  precision_targets.write_evidence(str(tmp_path), precision_targets.EVIDENCE_FILE, evidence)
  with caplog.at_level('INFO', logger='catalog.writer'):
    rules = cw.fill_rules(attributes, 0.95, '', '', (), str(tmp_path), served_instead=False)
  assert rules.threshold('Brand') is not None and rules.threshold('Attribute 0') is None
  lines = [r.getMessage() for r in caplog.records if r.levelno >= 20]
  assert lines == ['40 of 41 attributes cannot reach their precision target on the eval split: they fill '
                   'nothing, and their values go to the review queue (per attribute: the run report)']
