"""The whole pipeline on the embedded sample, with a tiny random BERT (fast)."""
import glob
import json
import logging
import os
import re
import tempfile

import numpy as np
import pyarrow.parquet as pq
import pytest

from evaluation import offline as offline_evaluation
from catalog.columns import output_columns, span_column
from pipelines import configs, runners
from catalog.config import SAMPLE_CATALOG, SAMPLE_TRIPLES
from catalog.questions import context_of
from pipelines.run_outputs import newest_pushed_model

pytestmark = pytest.mark.pipeline   # whole pipeline runs: the slow tier

ATTRIBUTES = ('Brand Name', 'Material', 'Color', 'Gender', 'Item Type')


@pytest.fixture(scope='module')
def run_dir(tmp_path_factory):
  return tmp_path_factory.mktemp('pipeline')


def _config(run_dir, checkpoint, **overrides):
  config = configs.PipelineConfig(
      pipeline_root=str(run_dir / 'root'), metadata_path=str(run_dir / 'metadata.sqlite'),
      serving_model_dir=str(run_dir / 'serving'))
  return configs.with_overrides(config, {
      'model.checkpoint': checkpoint, 'data.attributes': ATTRIBUTES, 'training.train_steps': 4,
      'adaptation.steps': 2, 'adaptation.batch_size': 8,
      'training.batch_size': 8, 'model.max_seq_length': 48, **overrides})


@pytest.fixture(scope='module')
def first_run(run_dir, tiny_checkpoint_dir):
  """The pipeline run once with a gate every model passes: a blessed, pushed model; with
  what our components logged (outputs.log_lines)."""
  lines = []
  handler = logging.Handler(logging.INFO)
  handler.emit = lambda record: lines.append(record.getMessage())
  ours = logging.getLogger('components')
  ours.addHandler(handler)
  level, ours.level = ours.level, logging.INFO
  temp = run_dir / 'temp'   # the temporary folder the run sees, to find what it leaves there
  temp.mkdir()
  saved_tempdir, tempfile.tempdir = tempfile.tempdir, str(temp)
  try:
    outputs = runners.run_local(_config(run_dir, tiny_checkpoint_dir, **{'gate.min_f1': 0.0}))
  finally:
    ours.removeHandler(handler)
    ours.setLevel(level)
    tempfile.tempdir = saved_tempdir
  outputs.log_lines = lines
  outputs.left_in_temp = sorted(os.listdir(temp))
  outputs.pushed_model = newest_pushed_model(str(run_dir / 'serving'))   # before later runs push more
  return outputs


@pytest.fixture(scope='module')
def pushed_model(first_run):
  return first_run.pushed_model


def _read_parquet(pattern):
  files = sorted(glob.glob(pattern))
  assert files, pattern
  return [row for f in files for row in pq.read_table(f).to_pylist()]


def test_pipeline_fills_the_catalog_row_by_row(first_run, run_dir):
  summary = first_run.summary
  assert summary['filled'] is True
  catalog_in = pq.read_table(glob.glob(SAMPLE_CATALOG)[0]).to_pylist()
  rows_out = _read_parquet(summary['catalog_files'])
  quarantined = _read_parquet(summary['quarantine_files'])

  assert summary['rows_in'] == len(catalog_in) == len(rows_out) + len(quarantined)
  assert summary['rows_out'] == len(rows_out) and summary['quarantined'] == len(quarantined)
  assert sorted(r['quarantine_reason'] for r in quarantined) == [
      'duplicate product_id (2 rows)', 'duplicate product_id (2 rows)', 'empty title',
      'missing product_id']

  by_id = {r['product_id']: r for r in catalog_in}
  for row in rows_out:
    original = by_id[row['product_id']]
    for column, value in original.items():     # input columns unchanged
      assert row[column] == value
    for attribute in ATTRIBUTES:
      value_col, confidence_col, version_col = output_columns(attribute)
      assert {value_col, confidence_col, version_col} <= set(row)
      if original.get(attribute):               # already known: not re-predicted
        assert row[version_col] is None and row[value_col] is None
      else:
        assert row[version_col] == summary['model_version']
        assert 0.0 <= row[confidence_col] <= 1.0
        if row[value_col] is not None:          # an extracted value is a piece of the title
          assert row[value_col] in original['title']
  # The value threshold was tuned on the dev slice held out of the train split.
  tuning_files = glob.glob(str(run_dir / 'root' / 'Trainer' / 'model_run' / '*' / 'value_threshold.json'))
  assert len(tuning_files) == 1
  with open(tuning_files[0]) as f:
    tuning = json.load(f)
  assert tuning['dev_examples'] > 0 and tuning['threshold'] in [r['threshold'] for r in tuning['sweep']]
  assert all(r['total'] == tuning['dev_examples'] for r in tuning['sweep'])
  asked = sum(summary['questions'].values())
  assert asked == sum(1 for r in rows_out for a in ATTRIBUTES if not by_id[r['product_id']].get(a))


def test_the_gate_chooses_how_the_model_is_served_and_the_catalog_step_serves_it(first_run, run_dir):
  """--runtime auto --precision auto (the defaults): the gate scores TensorFlow float32 and,
  on x86 CPUs, ONNX Runtime int8, chooses by the F1s, and the catalog is filled as chosen."""
  from serving import batch_inference, serving_choice
  newest = lambda pattern: max(glob.glob(str(run_dir / 'root' / pattern)), key=os.path.getmtime)
  with open(newest('ExactMatchEvaluator/evaluation/*/metrics.json')) as f:
    metrics = json.load(f)
  serving = metrics['serving']
  assert serving['chosen_by'] == 'gate'
  f1 = {tuple(name.split()): value for name, value in serving['f1'].items()}
  assert set(f1) == ({serving_choice.REFERENCE, serving_choice.FAST} if serving_choice.is_x86()
                     else {serving_choice.REFERENCE})
  chosen = serving_choice.by_f1(f1)
  assert (serving['runtime'], serving['precision']) == (metrics['runtime'], metrics['precision']) == chosen[:2]
  assert metrics['model']['overall']['f1'] == f1[chosen[:2]]   # the blessing's evidence is the served one's
  answers = batch_inference.read_answers_summary(newest('CatalogBulkInferrer/inference_result/*'))
  assert (answers['answers_key']['runtime'], answers['answers_key']['precision']) == chosen[:2]
  assert first_run.summary['served_with'] == {'runtime': chosen.runtime, 'precision': chosen.precision}


def test_a_run_leaves_no_temporary_files_behind(first_run):
  # TFX stages a 50 MB copy of itself per Beam step; these filled the disk of nightly hosts.
  assert first_run.left_in_temp == []


def test_the_run_report_shows_the_gate_and_the_filled_values(first_run):
  assert first_run.report and first_run.report.endswith('report.html')
  with open(first_run.report, encoding='utf-8') as f:
    page = f.read()
  for attribute in ATTRIBUTES:
    assert attribute in page
  assert 'Gate: exact match on the eval split' in page and page.count('<img') == len(ATTRIBUTES)
  assert first_run.summary['model_version'] in page


def test_reruns_report_their_own_outputs_cached_or_not(first_run, run_dir, tiny_checkpoint_dir):
  config = _config(run_dir, tiny_checkpoint_dir, **{'gate.min_f1': 0.0})
  # The gate now compares the model with the one the first run blessed: it and the
  # catalog steps run again, the rest is cached.
  second = runners.run_local(config)
  third = runners.run_local(config)   # the same inputs as the second: every step is cached
  assert second.summary['catalog_files'] != first_run.summary['catalog_files']
  assert third.summary == second.summary and third.report == second.report
  by_id = lambda rows: sorted(rows, key=lambda r: r['product_id'])
  assert by_id(_read_parquet(second.summary['catalog_files'])) == by_id(
      _read_parquet(first_run.summary['catalog_files']))


def test_a_model_below_the_gate_is_not_pushed_and_the_served_model_fills(first_run, run_dir, tiny_checkpoint_dir):
  # Same pipeline root: everything but the evaluator and what follows it is cached.
  outputs = runners.run_local(_config(run_dir, tiny_checkpoint_dir, **{'gate.min_f1': 1.01}))
  summary = outputs.summary
  # A scheduled run whose retrain is refused still fills its products, with the model
  # being served (the newest blessed one), and says so.
  assert summary['filled'] is True and 'below the threshold 1.0100' in summary['refused']
  assert summary['model_version'] == first_run.summary['model_version']   # the one blessed first
  with open(outputs.report, encoding='utf-8') as f:
    assert 'below the threshold 1.0100' in f.read()
  blessings = glob.glob(str(run_dir / 'root' / 'ExactMatchEvaluator' / 'blessing' / '*' / 'NOT_BLESSED'))
  assert blessings
  metrics = sorted(glob.glob(str(run_dir / 'root' / 'ExactMatchEvaluator' / 'evaluation' / '*' / 'metrics.json')),
                   key=os.path.getmtime)[-1]
  with open(metrics) as f:
    report = json.load(f)
  assert report['blessed'] is False and 'baseline' in report   # compared with the blessed model
  assert 'difference' in report                                # ... on the same triples, paired
  assert set(report['model']['per_attribute']) <= set(ATTRIBUTES)
  # --fill-only-when-blessed: nothing is filled.
  strict = runners.run_local(_config(run_dir, tiny_checkpoint_dir, **{
      'gate.min_f1': 1.01, 'gate.fill_only_when_blessed': True})).summary
  assert strict['filled'] is False and 'below the threshold 1.0100' in strict['reason']


def test_eval_triples_scores_a_pushed_model_and_lists_malformed_lines(pushed_model, tmp_path, caplog):
  triples = tmp_path / 'triples.txt'
  triples.write_text('Trailwise Running Shoes Black\u0001Color\u0001Black\n'
                     'only two fields\u0001Color\n'
                     'Trailwise Running Shoes Black\u0001Material\u0001NULL\n', encoding='utf-8')
  with caplog.at_level(logging.WARNING):
    report = offline_evaluation.evaluate_triples_file(str(triples), pushed_model, str(tmp_path / 'report'),
                                                      'float32', 64)
  assert report['overall']['total'] == 2
  assert report['malformed_lines'] == [{'line': 2, 'reason': 'wrong field count: 2 instead of 3',
                                        'text': 'only two fields\u0001Color'}]
  assert f'{triples}:2: wrong field count' in caplog.text
  assert [r['threshold'] for r in report['threshold_sweep']][-1] == 1.0
  assert (tmp_path / 'report' / 'metrics.md').exists()
  answers = [json.loads(line) for line in (tmp_path / 'report' / 'predictions.jsonl').read_text().splitlines()]
  assert [(a['attribute'], a['gold']) for a in answers] == [('Color', 'Black'), ('Material', 'NULL')]
  right = report['overall']['vc'] + report['overall']['nn']
  assert sum(a['value'] == ('' if a['gold'] == 'NULL' else a['gold']) for a in answers) == right


@pytest.mark.parametrize('precision', ['bfloat16', 'int8'])
def test_the_reduced_precision_signatures_share_the_weights_and_answer_alike(pushed_model, precision):
  from serving import inference
  titles = ['Trailwise Running Shoes Black Mesh', 'Kitchara Glass Water Bottle 750ml Red Leakproof']
  attributes = ['Color', 'Material']
  full = inference.predict(inference.load(pushed_model), titles, attributes, batch_size=64)
  reduced = inference.predict(inference.load(pushed_model, precision), titles, attributes, batch_size=64)
  # 8 bits of mantissa (bfloat16) or 8-bit integers (int8): probabilities agree to
  # about 1e-2, not exactly.
  np.testing.assert_allclose(reduced['no_answer_prob'], full['no_answer_prob'], atol=0.03)
  assert not np.array_equal(reduced['no_answer_prob'], full['no_answer_prob'])   # it did compute so


def test_a_title_longer_than_a_sequence_is_read_whole(pushed_model, tiny_checkpoint_dir):
  """Nothing past max_seq_length goes unread. The served model reads a long
  title in windows and answers with a span of the whole title, in the title's own bytes."""
  import tensorflow as tf
  from serving import inference
  from model import features as preprocessing
  from model.checkpoint import read_checkpoint
  model = inference.load(pushed_model)
  title = ' '.join(['Trailwise Running Shoes Mesh Sole'] * 40) + ' Black Leather'   # 7,000+ characters
  titles, attributes = [title, 'Trailwise Running Shoes Black'], ['Color', 'Color']
  out = inference.predict(model, titles, attributes, batch_size=64)
  tokens = len(title.split())
  assert out['windows'].tolist()[1] == 1 and out['windows'][0] >= tokens // 48   # 48: the e2e max_seq_length
  _, _, starts, ends = preprocessing.tokenize_questions(
      tf.constant(titles), tf.constant(attributes), read_checkpoint(tiny_checkpoint_dir), 16)
  for i, text in enumerate(titles):
    begin, end = int(out['begin'][i]), int(out['end'][i])
    assert 0 <= begin <= end < len(starts[i])
    span = text.encode()[int(starts[i][begin]):int(ends[i][end])].decode()
    assert out['span_text'][i] == span and span
  assert out['value'][0] in ('', out['span_text'][0])


@pytest.mark.parametrize('runtime', ['tensorflow', 'onnx'])
def test_the_catalog_step_serves_int8_on_either_runtime(pushed_model, run_dir, tiny_checkpoint_dir, runtime):
  from serving import inference
  # Same pipeline root: only the gate and the catalog steps run again, in int8.
  run = runners.run_local(_config(run_dir, tiny_checkpoint_dir, **{
      'gate.min_f1': 0.0, 'inference.precision': 'int8', 'inference.runtime': runtime}))
  summary = run.summary
  with open(run.report) as f:
    assert f'precision int8 ({runtime})' in f.read()   # the gate scored what is served
  assert summary['filled'] is True
  rows_out = _read_parquet(summary['catalog_files'])
  text = lambda row: context_of(row, use_description=True)   # what the run asked: title, then description
  asked = [(text(r), a) for r in rows_out for a in ATTRIBUTES if r[output_columns(a)[2]] is not None]
  assert len(asked) == sum(summary['questions'].values())
  model = inference.load(newest_pushed_model(str(run_dir / 'serving')), 'int8', runtime)
  direct = inference.predict(model, *map(list, zip(*asked)), batch_size=64)
  # The model's answer is the span; whether it fills (the value column) is the writer's call.
  by_question = {(text(r), a): (r[span_column(a)], r[output_columns(a)[1]])
                 for r in rows_out for a in ATTRIBUTES}
  for i, question in enumerate(asked):
    value, confidence = by_question[question]
    assert (value or '') == direct['value'][i]
    assert confidence == pytest.approx(direct['confidence'][i], abs=1e-4)


def test_the_catalog_step_runs_batches_of_the_batch_size_it_is_given(pushed_model, tmp_path, monkeypatch):
  # Beam's adaptive batching grows batches to thousands of questions, each padded to its
  # longest: the step must batch as told. The model is handed lots of bucket_size (one
  # PredictionLog each) and runs the network on batches of batch_size.
  import apache_beam as beam
  from serving import length_batches
  import tensorflow as tf
  from tensorflow_serving.apis import prediction_log_pb2
  from serving import batch_inference as catalog_inferrer
  from serving.inference import serving_dir
  from catalog import questions as catalog_questions
  from catalog.categories import CategoryRules
  questions = tmp_path / 'questions.tfrecord.gz'
  asked = []
  with tf.io.TFRecordWriter(str(questions), 'GZIP') as writer:
    for i in range(300):
      row = {'product_id': str(i), 'title': f'Trailwise Running Shoes {"Black " * (i % 7)}Mesh'}
      for question in catalog_questions.questions_for(row, CategoryRules(('Color',)), False, True):
        writer.write(question)
        asked.append(question)
  run_sizes = []
  shortest_first = length_batches.shortest_first

  def recorded(lengths, batch_size):
    batches = shortest_first(lengths, batch_size)
    run_sizes.extend(len(rows) for rows in batches)
    return batches
  monkeypatch.setattr(length_batches, 'shortest_first', recorded)
  with beam.Pipeline() as pipeline:   # in this process: the recording sees the model's batches
    catalog_inferrer.run_inference(pipeline, str(questions), serving_dir(pushed_model),
                                   str(tmp_path / 'out'), precision='float32', runtime='tensorflow',
                                   batch_size=16, bucket_size=64)
  logs = [prediction_log_pb2.PredictionLog.FromString(record) for record in tf.data.TFRecordDataset(
      tf.io.gfile.glob(str(tmp_path / 'out' / (catalog_inferrer.PREDICTION_LOGS + '*'))), 'GZIP').as_numpy_iterator()]
  sizes, answered = [], []
  for log in logs:
    examples = tf.make_ndarray(log.predict_log.request.inputs['examples']).tolist()
    values = tf.make_ndarray(log.predict_log.response.outputs['value'])
    assert len(values) == len(examples)
    sizes.append(len(examples))
    answered.extend(examples)
  assert sorted(answered) == sorted(asked)   # each question once, none lost
  assert catalog_inferrer.read_answers_summary(str(tmp_path / 'out'))['asked'] == len(asked)
  assert max(sizes) == 64
  assert sizes.count(64) >= len(asked) // 64 - 1   # lots, not Beam's adaptive batches
  assert sum(run_sizes) == len(asked) and max(run_sizes) == 16
  assert run_sizes.count(16) >= len(asked) // 16 - len(sizes)   # at most one short batch per lot


def test_the_catalog_step_names_what_it_cannot_serve(pushed_model, tmp_path):
  import shutil
  from serving import batch_inference as catalog_inferrer
  from serving.inference import serving_dir
  from serving import contract as serving_contract
  model = serving_dir(pushed_model)
  with pytest.raises(ValueError, match="precision must be one of .* not 'fp8'"):
    catalog_inferrer.ServingHandler(model, 'fp8', 'tensorflow', 16, 64).load_model()
  with pytest.raises(ValueError, match="the onnx runtime serves .* not 'bfloat16'"):
    catalog_inferrer.ServingHandler(model, 'bfloat16', 'onnx', 16, 64).load_model()
  older = shutil.copytree(model, tmp_path / 'older')   # as exported before ONNX serving
  shutil.rmtree(older / os.path.dirname(serving_contract.ONNX_FILES['int8']))
  with pytest.raises(ValueError, match='has no ONNX graph .* --runtime tensorflow'):
    catalog_inferrer.ServingHandler(str(older), 'int8', 'onnx', 16, 64).load_model()


def test_onnx_runtime_answers_as_tensorflow_does(pushed_model, tmp_path):
  """The same tokens (the SavedModel's own Transform graph) and the same heads and
  decoding around ONNX Runtime's encoder: the same answers on every sample title, unicode
  and a title longer than a sequence included. ONNX serving reads only the encoder graphs
  and their small endpoints SavedModel, never the full one (12 s of loading on 2 cores)."""
  import shutil
  from serving import inference
  from catalog import triples
  from serving.contract import ONNX_FUSIONS_FILE
  questions = [(t.title, t.attribute) for path in sorted(glob.glob(SAMPLE_TRIPLES))
               for _, t, _ in triples.read_triples(path) if not isinstance(t, str)]
  questions += [('Ćevapi grill — Edelstahl Grillrost 40×30 cm, schwarz 🔥', 'Color'),
                ('Kitchara 保温杯 不锈钢 500ml 红色', 'Material'),
                (' '.join(['Trailwise Running Shoes Mesh Sole'] * 40) + ' Black Leather', 'Color')]
  titles, attributes = map(list, zip(*questions))
  expected = inference.predict(inference.load(pushed_model), titles, attributes, batch_size=32)
  served = inference.predict(inference.load(pushed_model, 'float32', 'onnx'), titles, attributes, batch_size=32)
  for key in ('value', 'span_text', 'begin', 'end', 'windows', 'attribute_seen'):
    assert served[key].tolist() == expected[key].tolist(), key
  for key in ('span_prob', 'no_answer_prob', 'value_prob', 'confidence'):
    np.testing.assert_allclose(served[key], expected[key], atol=1e-4, err_msg=key)
  with open(os.path.join(inference.serving_dir(pushed_model), ONNX_FUSIONS_FILE)) as f:
    assert json.load(f)['missing'] == []
  onnx_only = tmp_path / 'onnx_only'
  shutil.copytree(os.path.join(inference.serving_dir(pushed_model), 'onnx'), onnx_only / 'onnx')
  alone = inference.predict(inference.load(str(onnx_only), 'float32', 'onnx'), titles, attributes, batch_size=32)
  assert alone['value'].tolist() == served['value'].tolist()
  np.testing.assert_array_equal(alone['value_prob'], served['value_prob'])


def test_the_export_knows_which_attributes_it_was_trained_on(pushed_model):
  from serving import inference
  model = inference.load(pushed_model)
  title = 'Trailwise Running Shoes Black Mesh'
  predictions = inference.predict(model, [title, title], ['Color', 'Warranty Period'], batch_size=64)
  assert predictions['attribute_seen'].tolist() == [True, False]
  # The unseen one is decided by the default unseen rule (the sample is too small to tune
  # one): the no-answer head alone.
  assert (predictions['value'][1] != '') == (1 - predictions['no_answer_prob'][1] >= 0.5)


def test_the_rule_for_unseen_attributes_is_tuned_on_attributes_held_out_of_training(
    first_run, run_dir, tiny_checkpoint_dir, tmp_path):
  """The rule for attributes never trained on is chosen on training attributes
  held out of training (pseudo-unseen), never on the eval split, and the export serves it."""
  import types
  import tensorflow_transform as tft
  from tfx_bsl.public import tfxio
  from serving import inference, export as serving_export
  from components import trainer
  from training import data as training_data, value_tuning
  from model import value_threshold
  from model.checkpoint import read_checkpoint
  # The run's Trainer consulted the hold-out: the sample's attributes are too few to draw.
  assert any(line.startswith('no pseudo-unseen attributes') for line in first_run.log_lines)

  newest = lambda pattern: max(glob.glob(str(run_dir / 'root' / 'Transform' / pattern)), key=os.path.getmtime)
  tft_output = tft.TFTransformOutput(newest('transform_graph/*'))
  train_files = [os.path.join(newest('transformed_examples/*'), 'Split-train', '*')]
  accessor = types.SimpleNamespace(tf_dataset_factory=lambda files, options, schema: tfxio.TFExampleRecord(
      file_pattern=files, schema=schema).TensorFlowDataset(options))
  counts = training_data.attribute_counts(train_files, accessor, tft_output)
  assert len(counts) == len(ATTRIBUTES)
  held_out = max(counts, key=counts.get)
  settings = configs.ModelConfig(checkpoint=tiny_checkpoint_dir, max_seq_length=48)
  model, _, _ = trainer.build_extractor(read_checkpoint(tiny_checkpoint_dir), settings, configs.TrainingConfig())
  # The rule is chosen while the model has not trained on the held-out attribute ...
  unseen = value_tuning.choose_unseen_rule(model, train_files, accessor, tft_output, 8, {held_out})
  tuning = value_tuning.settle_decisions(model, train_files, accessor, tft_output, 8, 0.05, str(tmp_path),
                                         unseen)
  # ... which the Trainer's last pass then trains on: the served model knows all five.
  assert model.seen_attributes.size().numpy() == len(ATTRIBUTES)
  rule = tuning['unseen_rule']
  assert (rule['questions'], rule['attributes']) == (counts[held_out], 1)
  assert (model.config.unseen_kind, model.config.unseen_threshold) == (rule['kind'], rule['threshold'])
  with open(tmp_path / 'value_threshold.json') as f:
    assert json.load(f)['unseen_rule']['kind'] == rule['kind']
  # The export serves the tuned rule on an attribute the catalog never had data for.
  serving_export.export_serving_model(model, tft_output, str(tmp_path / 'export'),
                                      read_checkpoint(tiny_checkpoint_dir).approximate_gelu)
  titles = ['Trailwise Running Shoes Black Mesh Men', 'Kitchara Steel Water Bottle Red 500ml']
  questions = [(t, a) for t in titles for a in ATTRIBUTES + ('Frame Color',)]
  answers = inference.predict(inference.load(str(tmp_path / 'export')), *map(list, zip(*questions)), 16)
  unseen = ~answers['attribute_seen'].astype(bool)
  assert unseen.sum() == len(titles)
  score = value_threshold.unseen_score(rule['kind'], answers['value_prob'][unseen],
                                       answers['no_answer_prob'][unseen])
  assert ((answers['value'][unseen] != '') == (score >= rule['threshold'])).all()


def _executions(run_dir, type_name):
  from pipelines.run_outputs import _store
  return len(_store(str(run_dir / 'metadata.sqlite')).get_executions_by_type(type_name))


def test_enrich_only_trains_nothing_and_fills_as_the_full_pipeline(first_run, pushed_model, run_dir,
                                                                    tiny_checkpoint_dir):
  config = _config(run_dir, tiny_checkpoint_dir)
  trainer, transform = 'tfx.components.trainer.component.Trainer', 'tfx.components.transform.component.Transform'
  trained_before = (_executions(run_dir, trainer), _executions(run_dir, transform))
  # No gate measured a model given by folder: served as named (here: as the first run was).
  served = first_run.summary['served_with']
  given = runners.run_enrichment(configs.with_overrides(config, {   # --enrich-only --model DIR
      'inference.runtime': served['runtime'], 'inference.precision': served['precision']}), pushed_model)
  newest = runners.run_enrichment(config)   # --enrich-only: ML Metadata's newest blessed, served as its gate chose
  assert (_executions(run_dir, trainer), _executions(run_dir, transform)) == trained_before
  by_id = lambda summary: sorted(_read_parquet(summary['catalog_files']), key=lambda r: r['product_id'])
  full = by_id(first_run.summary)
  versioned = [c for c in full[0] if c.endswith('__model_version')]
  strip = lambda rows: [{k: v for k, v in r.items() if k not in versioned} for r in rows]
  assert given.summary['catalog_files'] != first_run.summary['catalog_files']   # it ran, not cached
  assert strip(by_id(given.summary)) == strip(full)
  # Same model: the same saved_model.pb hash in the version, whatever folder it was read from.
  assert given.summary['model_version'].split('-')[-1] == first_run.summary['model_version'].split('-')[-1]
  from serving.inference import model_version
  newest_blessed = model_version(newest_pushed_model(str(run_dir / 'serving')))
  assert newest.summary['model_version'].split('-')[-1] == newest_blessed.split('-')[-1]
  assert given.report and newest.report


def test_incremental_reruns_ask_nothing_of_unchanged_rows_and_everything_of_another_model(
    pushed_model, tmp_path, tiny_checkpoint_dir):
  config = _config(tmp_path, tiny_checkpoint_dir, **{'inference.incremental': True})
  first = runners.run_enrichment(config, pushed_model)
  again = runners.run_enrichment(config, pushed_model)        # the same catalog, the same model
  questions = sum(first.summary['questions'].values())
  assert first.summary['questions_reused'] == 0 and first.summary['questions_asked'] > 0
  assert (again.summary['questions_reused'], again.summary['questions_asked']) == (
      first.summary['questions_asked'], 0)
  by_id = lambda summary: sorted(_read_parquet(summary['catalog_files']), key=lambda r: r['product_id'])
  assert by_id(again.summary) == by_id(first.summary)
  assert again.summary['rows_in'] == again.summary['rows_out'] + again.summary['quarantined']
  # The same model served another way answers differently: every question is asked again.
  onnx = runners.run_enrichment(configs.with_overrides(config, {'inference.runtime': 'onnx',
                                                                'inference.precision': 'int8'}), pushed_model)
  assert (onnx.summary['questions_reused'], onnx.summary['questions_asked']) == (0, first.summary['questions_asked'])
  # What the step cost: each part measured, per million questions.
  cost = again.summary['cost']
  assert cost['complete'] and all(cost['cpu_seconds'][part] > 0 for part in ('questions', 'inference', 'writer'))
  assert cost['per_million_questions'] == pytest.approx(cost['cpu_seconds']['total'] * 1e6 / questions, rel=1e-3)


def test_the_gate_keeps_its_evidence_and_targets_it_cannot_meet_fill_nothing(pushed_model, tmp_path,
                                                                             tiny_checkpoint_dir):
  from evaluation import precision_targets
  # The tiny model fills nothing at its tuned threshold; at 0 it answers every question. A
  # precision of 1.0 is beyond any Wilson bound: every attribute withholds every value.
  config = _config(tmp_path, tiny_checkpoint_dir, **{
      'gate.min_f1': 0.0, 'training.dev_fraction': 0.0, 'training.value_threshold': 0.0,
      'fill.target_precision': 1.0})
  with pytest.raises(ValueError, match='a model given with --model has none'):
    runners.run_enrichment(config, pushed_model)
  outputs = runners.run_local(config)
  gate = lambda kind, name: glob.glob(str(tmp_path / 'root' / 'ExactMatchEvaluator' / kind / '*' / name))[0]
  with open(gate('blessing', precision_targets.EVIDENCE_FILE)) as f:
    evidence = json.load(f)
  with open(gate('evaluation', 'metrics.json')) as f:
    per_attribute = json.load(f)['model']['per_attribute']
  # The evidence is the gate's own scoring: its fills and right answers add up to its metrics.
  assert set(evidence) == set(per_attribute)
  for attribute, counts in per_attribute.items():
    fills = evidence[attribute]['fills']
    assert (len(fills), sum(right for _, right in fills)) == (counts['nv'] + counts['vc'] + counts['vw'], counts['vc'])
  assert sum(len(e['fills']) for e in evidence.values()) > 0
  summary = outputs.summary
  assert set(summary['precision_targets']) == set(ATTRIBUTES)
  assert all(t['threshold'] is None for t in summary['precision_targets'].values())
  rows = _read_parquet(summary['catalog_files'])
  assert not any(r[output_columns(a)[0]] for r in rows for a in ATTRIBUTES)
  spans = {a: sum(1 for r in rows if r[span_column(a)]) for a in ATTRIBUTES}
  assert summary['values_withheld'] == spans and sum(spans.values()) > 0
  queue = pq.read_table(summary['review_queue']['parquet']).to_pylist()
  assert queue and not any(r['filled'] for r in queue)
  with open(outputs.report, encoding='utf-8') as f:
    assert 'Precision targets' in f.read()


def test_enrich_only_without_a_blessed_model_says_so(tmp_path, tiny_checkpoint_dir):
  config = _config(tmp_path, tiny_checkpoint_dir)
  with pytest.raises(LookupError, match='no blessed model'):
    runners.run_enrichment(config)


def test_an_untrained_model_is_refused_and_the_served_model_stays(first_run, run_dir,
                                                                  tiny_checkpoint_dir, capsys, monkeypatch):
  import pipeline_runner
  from pipelines import console
  monkeypatch.setattr(console, 'quiet_native_logs', lambda verbose: None)   # keep pytest's stderr
  served = newest_pushed_model(str(run_dir / 'serving'))
  code = pipeline_runner.main([
      '--local', '--pipeline-root', str(run_dir / 'root'), '--metadata-path', str(run_dir / 'metadata.sqlite'),
      '--serving-model-dir', str(run_dir / 'serving'), '--checkpoint', tiny_checkpoint_dir,
      '--attributes', ','.join(ATTRIBUTES), '--train-steps', '0', '--batch-size', '8',
      '--adapt-steps', '2', '--adapt-batch-size', '8',
      '--max-seq-length', '48', '--min-f1', '0'])
  out = capsys.readouterr().out
  # Refused, so the model being served fills the catalog and stays the served one.
  assert code == 3
  assert 'The new model was NOT blessed (the model was trained 0 steps' in out
  from serving.inference import model_fingerprint   # the version names its graph and weights' hash
  assert re.search(rf'the model being served, \S+-{model_fingerprint(served)}, filled the catalog', out)
  assert newest_pushed_model(str(run_dir / 'serving')) == served


def test_a_catalog_replaced_under_the_same_path_is_read_again(pushed_model, run_dir, tiny_checkpoint_dir,
                                                              tmp_path):
  import pyarrow as pa
  path = tmp_path / 'catalog' / 'catalog.parquet'
  path.parent.mkdir()
  config = configs.with_overrides(_config(run_dir, tiny_checkpoint_dir),
                                  {'data.catalog': str(tmp_path / 'catalog' / '*.parquet')})
  counts = []
  for rows in (2, 3):   # tonight's catalog replaces last night's, same file name
    pq.write_table(pa.table({'product_id': [f'N{i}' for i in range(rows)],
                             'title': ['Trailwise Running Shoes Black Mesh'] * rows}), str(path))
    counts.append(runners.run_enrichment(config, pushed_model).summary['rows_in'])
  assert counts == [2, 3]


def test_the_default_run_also_learns_from_the_sample_catalogs_known_values(first_run, run_dir):
  """The embedded catalog knows some brands and colours; the run mines them."""
  first = min(glob.glob(str(run_dir / 'root' / 'TriplesExampleGen' / 'examples' / '*')),
              key=lambda p: int(os.path.basename(p)))
  with open(os.path.join(first, 'ingest_summary.json')) as f:
    summary = json.load(f)
  assert set(summary['mined']) == {'Brand Name', 'Color'}   # the sample's known columns
  for outcomes in summary['mined'].values():
    assert outcomes['known'] > 0
    assert outcomes['known'] == (outcomes['aligned'] + outcomes['not_in_text_as_null']
                                 + outcomes['not_in_text_skipped'] + outcomes['not_a_label'])
  # Every mined triple kept (value-removed negatives included) is an example of one split.
  assert sum(o['kept'] for o in summary['mined'].values()) == (
      summary['train_sources']['mined'] + summary['eval_sources']['mined'])
  assert summary['mined']['Color']['value_removed'] == summary['mined']['Color']['aligned'] > 0
  assert summary['train_sources']['mined'] > 0 and summary['train_sources']['labelled'] > 0
  # The gate and the report say how many triples came from each source.
  evaluation = min(glob.glob(str(run_dir / 'root' / 'ExactMatchEvaluator' / 'evaluation' / '*')),
                   key=lambda p: int(os.path.basename(p)))
  with open(os.path.join(evaluation, 'metrics.json')) as f:
    assert json.load(f)['sources'] == {'train': summary['train_sources'], 'eval': summary['eval_sources']}
  with open(first_run.report, encoding='utf-8') as f:
    page = f.read()
  mined = summary['train_sources']['mined']
  assert f"train {summary['train_sources']['labelled']} labelled, {mined} mined from the catalog" in page
  # So does the Trainer's log, counting the examples Transform handed it.
  trainer_line = next(line for line in first_run.log_lines if line.startswith('train split: '))
  assert trainer_line.startswith(f"train split: {summary['train_examples']:,} examples: "
                                 f"labelled {summary['train_sources']['labelled']:,} (")
  assert f', mined {mined:,} (' in trainer_line


def test_a_catalog_without_labelled_triples_learns_from_its_known_values_and_fills_the_rest(
    tiny_checkpoint_dir, tmp_path):
  """`--catalog my.parquet` alone: the catalog's known values are the only labels; the run
  trains on them, is gated on them and fills the cells the catalog lacks, in the catalog's
  own attribute columns (Brand Name and Color: nothing of the sample's target list)."""
  config = configs.with_overrides(_config(tmp_path, tiny_checkpoint_dir, **{'gate.min_f1': 0.0}),
                                  {'data.catalog': SAMPLE_CATALOG, 'data.attributes': ()})
  assert config.data.triples_pattern() == '' and config.data.target_attributes() == ()
  run = runners.run_local(config)
  examples = glob.glob(str(tmp_path / 'root' / 'TriplesExampleGen' / 'examples' / '*'))
  with open(os.path.join(examples[0], 'ingest_summary.json')) as f:
    summary = json.load(f)
  assert summary['train_sources']['labelled'] == summary['eval_sources']['labelled'] == 0
  assert summary['train_sources']['mined'] > 0 and summary['eval_sources']['mined'] > 0
  assert set(summary['mined']) == {'Brand Name', 'Color'}
  assert run.summary['filled'] is True
  rows_in = pq.read_table(glob.glob(SAMPLE_CATALOG)[0]).to_pylist()
  catalog_in = {r['product_id']: r for r in rows_in}
  rows_out = _read_parquet(run.summary['catalog_files'])
  assert run.summary['rows_in'] == len(rows_in) == len(rows_out) + run.summary['quarantined']
  for row in rows_out:
    for attribute in ('Brand Name', 'Color'):
      value_col, _, version_col = output_columns(attribute)
      if catalog_in[row['product_id']][attribute]:   # known: kept, never predicted again
        assert row[attribute] == catalog_in[row['product_id']][attribute]
        assert row[value_col] is None and row[version_col] is None
      else:
        assert row[version_col] == run.summary['model_version']


def test_suopentag_trains_is_gated_fills_the_catalog_and_serves_enrich_only(tiny_checkpoint_dir, tmp_path):
  """--model-type suopentag goes through the same Trainer, gate, export and
  catalog steps; its export serves float32 and bfloat16, and says so when asked for int8."""
  config = _config(tmp_path, tiny_checkpoint_dir, **{
      'model.model_type': 'suopentag', 'model.tagger_units': 8, 'training.train_steps': 20,
      'adaptation.steps': 0, 'gate.min_f1': 0.0})
  run = runners.run_local(config)
  assert run.summary['filled'] is True
  rows_out = _read_parquet(run.summary['catalog_files'])
  assert run.summary['rows_in'] == len(rows_out) + run.summary['quarantined']
  evaluation = glob.glob(str(tmp_path / 'root' / 'ExactMatchEvaluator' / 'evaluation' / '*' / 'metrics.json'))
  with open(evaluation[0]) as f:
    assert 0.0 <= json.load(f)['model']['overall']['f1'] <= 1.0
  pushed = newest_pushed_model(str(tmp_path / 'serving'))
  assert not os.path.exists(os.path.join(pushed, 'onnx'))   # no encoder graphs: TensorFlow serves it
  from serving import inference
  from serving.contract import NotExported
  titles, attributes = ['Lumora Running Shoes Khaki'] * 2, ['Color', 'Brand Name']
  answers = {precision: inference.predict(inference.load(pushed, precision), titles, attributes, 8)
             for precision in ('float32', 'bfloat16')}
  for precision, answer in answers.items():
    assert len(answer['value']) == 2 and all(0.0 <= c <= 1.0 for c in answer['confidence'])
  with pytest.raises(NotExported, match='SUOpenTag: float32, bfloat16'):
    inference.load(pushed, 'int8')
  with pytest.raises(ValueError, match='suopentag serves float32 or bfloat16 on tensorflow'):
    configs.with_overrides(config, {'inference.precision': 'int8'})
  # --enrich-only with that model fills the catalog as the full run did.
  again = runners.run_enrichment(configs.with_overrides(config, {
      'pipeline_root': str(tmp_path / 'enrich-root'), 'metadata_path': str(tmp_path / 'enrich.sqlite')}), pushed)
  filled = lambda rows: sorted((r['product_id'], a, r[output_columns(a)[0]]) for r in rows for a in ATTRIBUTES)
  assert filled(_read_parquet(again.summary['catalog_files'])) == filled(rows_out)


def test_a_filled_in_review_queue_trains_the_next_run(first_run, run_dir, tiny_checkpoint_dir, tmp_path):
  """The run's least sure filled values go to a review queue; a person's answers
  in it are labelled triples of the next run."""
  import pyarrow as pa
  import pyarrow.csv as pacsv
  from catalog import review_queue
  assert os.path.exists(first_run.summary['review_queue']['csv'])   # every run writes one
  # The tiny model of 4 steps fills nothing at its tuned threshold: with the threshold at 0,
  # it fills every question on an attribute it was trained on.
  run = runners.run_local(_config(run_dir, tiny_checkpoint_dir, **{
      'gate.min_f1': 0.0, 'training.dev_fraction': 0.0, 'training.value_threshold': 0.0,
      'inference.review_size': 3}))
  queue = run.summary['review_queue']
  rows = pq.read_table(queue['parquet']).to_pylist()
  assert len(rows) >= 2
  assert rows == review_queue.queue_order(rows)
  # Each queued value is one the run filled, with the confidence it wrote, or one another
  # attribute of its row claimed (one value, one attribute: the tiny model reads the same
  # words for several attributes); without a target, per attribute the queue holds the
  # least sure filled values in the catalog's vocabulary or of those outside it
  # (tests/test_review_queue.py has the order).
  enriched = {r['product_id']: r for r in _read_parquet(run.summary['catalog_files'])}
  filled = {(p, a): (r[output_columns(a)[0]], r[output_columns(a)[1]])
            for p, r in enriched.items() for a in ATTRIBUTES if r[output_columns(a)[0]]}
  for row in rows:
    if row['filled']:
      assert filled[(row['product_id'], row['attribute'])] == (row['predicted_value'], row['confidence'])
    else:   # the holder filled it, or the row already knew it
      enriched_row, holder = enriched[row['product_id']], row['claimed_by']
      assert (row['product_id'], row['attribute']) not in filled
      assert enriched_row[output_columns(holder)[0]] or enriched_row.get(holder)
  for attribute in {r['attribute'] for r in rows}:
    assert len([r for r in rows if r['attribute'] == attribute]) <= 3
    queued = [r for r in rows if r['attribute'] == attribute and r['filled']]
    if queued and all(r['in_vocabulary'] for r in queued):   # then nothing outside it: the least sure of all
      others = [c for (product, a), (_, c) in filled.items()
                if a == attribute and product not in {r['product_id'] for r in queued}]
      assert not others or max(r['confidence'] for r in queued) <= min(others)

  # A reviewer answers two rows in a spreadsheet: one value confirmed, one "no value".
  reviewed = pacsv.read_csv(queue['csv'], convert_options=pacsv.ConvertOptions(
      column_types={'product_id': pa.string(), 'reviewed_value': pa.string()})).to_pylist()
  reviewed[0]['reviewed_value'] = reviewed[0]['predicted_value']
  reviewed[1]['reviewed_value'] = 'NULL'
  answered = tmp_path / 'reviewed.csv'
  pacsv.write_csv(pa.Table.from_pylist(reviewed), str(answered))
  runners.run_local(_config(run_dir, tiny_checkpoint_dir, **{'gate.min_f1': 0.0, 'data.reviewed': str(answered)}))

  examples = max(glob.glob(str(run_dir / 'root' / 'TriplesExampleGen' / 'examples' / '*')),
                 key=lambda p: int(os.path.basename(p)))
  with open(os.path.join(examples, 'ingest_summary.json')) as f:
    summary = json.load(f)
  outcomes = {}
  for counts in summary['reviewed'].values():
    for outcome, n in counts.items():
      outcomes[outcome] = outcomes.get(outcome, 0) + n
  assert outcomes == {'value': 1, 'no_value': 1, 'value_not_in_text': 0,
                      'unreviewed': len(reviewed) - 2, 'incomplete': 0}
  assert summary['train_sources']['reviewed'] + summary['eval_sources']['reviewed'] == 2
  from catalog import triples
  written = set()
  for split in ('train', 'eval'):
    written |= set(triples.read_split(examples, split))
  assert (reviewed[0]['text'], reviewed[0]['attribute'], reviewed[0]['predicted_value']) in written
  assert (reviewed[1]['text'], reviewed[1]['attribute'], 'NULL') in written


def test_the_trainer_learns_from_the_checkpoint_adapted_to_this_runs_text(first_run, run_dir):
  """A masked-LM step on the run's own text comes first, and the report compares
  the adapted teacher with the original one on the same masked eval titles."""
  assert any(line.startswith('checkpoint: adapted by 2 masked-LM steps on ') for line in first_run.log_lines)
  adapted = min(glob.glob(str(run_dir / 'root' / 'DomainAdaptation' / 'adapted_checkpoint' / '*')),
                key=lambda p: int(os.path.basename(p)))
  from model.checkpoint import read_checkpoint
  assert read_checkpoint(os.path.join(adapted, 'Format-Serving')).mlm_head
  evaluation = min(glob.glob(str(run_dir / 'root' / 'ExactMatchEvaluator' / 'evaluation' / '*')),
                   key=lambda p: int(os.path.basename(p)))
  with open(os.path.join(evaluation, 'metrics.json')) as f:
    adaptation = json.load(f)['adaptation']
  assert adaptation['steps'] == 2 and adaptation['texts'] > adaptation['train_titles'] > 0
  before, after = adaptation['teacher_before'], adaptation['teacher_after']
  assert before['masked_tokens'] == after['masked_tokens'] > 0
  assert (before['projection'], after['projection']) == ('tied word embeddings', 'MLM head')
  with open(first_run.report, encoding='utf-8') as f:
    page = f.read()
  assert 'Distilled MLM teacher' in page and f"{after['perplexity']:.1f}" in page
