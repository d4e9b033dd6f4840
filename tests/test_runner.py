import dataclasses
import json

import pytest

import pipeline_runner
from serving import contract as serving_contract
from pipelines import configs


def test_flags_fill_the_config():
  _, config = pipeline_runner.parse([
      '--local', '--triples', 'gs://bucket/triples.txt', '--catalog', '/data/*.parquet',
      '--attributes', 'Brand Name, Color', '--split', 'zero_shot', '--held-out', 'Frame Color',
      '--alpha', '0', '--beta', '0.25', '--train-steps', '7', '--min-f1', '0.8',
      '--precision', 'bfloat16', '--inference-batch-size', '512', '--bucket-size', '4096',
      '--dev-fraction', '0.1', '--max-attribute-tokens', '8', '--temperature', '3',
      '--no-dedupe-triples', '--', '--runner=DataflowRunner', '--project=p', '--region=europe-west4'])
  assert config.data.triples == 'gs://bucket/triples.txt' and config.data.catalog == '/data/*.parquet'
  assert config.data.target_attributes() == ('Brand Name', 'Color') and config.data.dedupe_triples is False
  assert config.split.rule == 'zero_shot' and config.split.held_out == ('Frame Color',)
  assert (config.model.alpha, config.model.beta, config.model.temperature) == (0.0, 0.25, 3.0)
  assert config.model.max_attribute_tokens == 8
  assert (config.training.train_steps, config.training.dev_fraction, config.gate.min_f1) == (7, 0.1, 0.8)
  assert (config.inference.precision, config.inference.batch_size, config.inference.bucket_size) == (
      'bfloat16', 512, 4096)
  assert config.training.batch_size == configs.TrainingConfig().batch_size   # a different setting
  assert config.beam_args == ['--runner=DataflowRunner', '--project=p', '--region=europe-west4',
                              '--beam_plugins=tensorflow_text']


def test_every_setting_is_a_flag_and_only_the_sections_are_not():
  parser = pipeline_runner.build_parser()
  flags = {action.dest for action in parser._actions}
  for section in configs.SECTIONS:
    for field in dataclasses.fields(getattr(configs.PipelineConfig(), section)):
      assert f'{section}.{field.name}' in flags or field.name == 'beam_args', (section, field.name)
  assert 'inference.beam_args' not in flags and 'beam_args' not in flags   # these come after --


def test_a_budget_sets_its_fields_and_explicit_flags_win():
  _, config = pipeline_runner.parse(['--local', '--budget', 'cpu', '--learning-rate', '3e-5'])
  cpu = configs.BUDGETS['cpu']
  assert config.training.epochs == cpu['training.epochs'] and config.model.max_seq_length == 64
  assert config.training.batch_size == cpu['training.batch_size']
  assert config.training.learning_rate == 3e-5
  # The default config is the sample budget: the budgets and the defaults cannot drift apart.
  assert configs.with_budget(configs.PipelineConfig(), 'sample') == configs.PipelineConfig()


def test_an_unknown_setting_is_an_error():
  with pytest.raises(KeyError, match='no setting'):
    configs.with_overrides(configs.PipelineConfig(), {'training.batchsize': 3})
  with pytest.raises(KeyError, match='no setting'):
    configs.with_overrides(configs.PipelineConfig(), {'trainer.batch_size': 3})
  with pytest.raises(KeyError, match='has no settings'):
    configs.section_from_dict(configs.ModelConfig, {'alpha': 0.5, 'gamma': 1})


def test_a_catalog_alone_trains_on_its_known_values_and_fills_its_own_columns():
  _, config = pipeline_runner.parse(['--local', '--catalog', 'my.parquet'])
  assert config.data.catalog_pattern() == 'my.parquet'
  assert config.data.triples_pattern() == ''          # nothing of the sample
  assert config.data.target_attributes() == ()        # CatalogQuestionGen reads the catalog's columns


def test_triples_without_a_catalog_to_fill_is_an_error_not_the_sample_catalog(capsys):
  with pytest.raises(SystemExit) as exited:
    pipeline_runner.parse(['--local', '--triples', 'mine.txt'])
  assert exited.value.code == 2 and '--triples needs --catalog' in capsys.readouterr().err


@pytest.mark.parametrize('flags, message', [
    (['--target-precision', '1.5'], r'--target-precision must be in (0, 1], got 1.5'),
    (['--target-precision', '0'], r'--target-precision must be in (0, 1], got 0.0'),
    (['--attribute-precision', 'Brand=0'], r'--attribute-precision Brand=0 must be in (0, 1], got 0.0'),
])
def test_a_setting_out_of_range_is_a_usage_error_naming_the_flag(flags, message, capsys):
  with pytest.raises(SystemExit) as exited:
    pipeline_runner.parse(['--local', *flags])
  err = capsys.readouterr().err
  assert exited.value.code == 2 and f'error: {message}' in err and 'Traceback' not in err


def _tiny_catalog(tmp_path):
  import pyarrow as pa
  import pyarrow.parquet as pq
  path = tmp_path / 'catalog.parquet'
  pq.write_table(pa.table({'product_id': ['1'], 'title': ['Acme Red Kettle'], 'Brand': ['Acme'],
                           'Color': pa.array([None], pa.string())}), str(path))
  return str(path)


@pytest.mark.parametrize('flags, message', [
    (['--value-aliases', 'ALIASES'], "line 2: expected attribute,alias,value, got 'Brand,HP'"),
    (['--attribute-precision', 'Weight=0.9'], "--attribute-precision: 'Weight' is not a target attribute (Brand, Color)"),
    (['--enrich-only', '--model', 'MODEL', '--target-precision', '0.9'], 'a model given with --model has none'),
])
def test_fill_settings_are_refused_before_anything_runs(flags, message, tmp_path, capsys, monkeypatch):
  from pipelines import console
  monkeypatch.setattr(console, 'quiet_native_logs', lambda verbose: None)   # keep pytest's stderr
  aliases = tmp_path / 'aliases.csv'
  aliases.write_text('Brand,Acme,ACME Corp\nBrand,HP\n')
  flags = [{'ALIASES': str(aliases), 'MODEL': str(tmp_path / 'model')}.get(f, f) for f in flags]
  code = pipeline_runner.main(['--local', '--catalog', _tiny_catalog(tmp_path), '--pipeline-root',
                               str(tmp_path / 'root'), '--metadata-path', str(tmp_path / 'm.sqlite'), *flags])
  err = capsys.readouterr().err
  assert code == 1 and message in err and 'Traceback' not in err
  assert not (tmp_path / 'root').exists()   # nothing ran


def test_a_section_survives_custom_config_json():
  model = configs.ModelConfig(alpha=0.0, checkpoint='/ckpt')
  assert configs.section_from_dict(configs.ModelConfig, json.loads(json.dumps(configs.to_dict(model)))) == model


def test_the_precision_flag_offers_exactly_the_exported_signatures():
  precision = next(a for a in pipeline_runner.build_parser()._actions if a.dest == 'inference.precision')
  assert tuple(precision.choices) == serving_contract.PRECISIONS + (serving_contract.AUTO,)
  assert serving_contract.signature_names('int8') == ('serving_int8', 'predict_raw_int8')
  with pytest.raises(ValueError, match='precision must be one of'):
    serving_contract.signature_names('fp8')


def test_defaults_are_the_embedded_sample_and_direct_runner():
  _, config = pipeline_runner.parse(['--local'])
  assert config.data.triples_pattern().endswith('data/sample/triples/*.txt')
  assert config.data.catalog_pattern().endswith('data/sample/catalog/*.parquet')
  assert config.data.target_attributes() == ('Brand Name', 'Material', 'Color', 'Gender', 'Item Type')
  assert '--direct_running_mode=multi_processing' in config.beam_args
  assert '--beam_plugins=tensorflow_text' in config.beam_args


def test_a_mode_is_required():
  with pytest.raises(SystemExit):
    pipeline_runner.parse([])


def test_the_runner_and_the_benchmarks_are_not_imported_by_the_product():
  import ast
  import pathlib
  root = pathlib.Path(__file__).resolve().parent.parent
  for folder in ('components', 'model', 'pipelines', 'schemas', 'tests'):
    for path in (root / folder).glob('*.py'):
      imported = set()
      for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
          imported.update(alias.name.split('.')[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
          imported.add(node.module.split('.')[0])
      assert 'benchmarks' not in imported, path
      assert 'pipeline_runner' not in imported or folder == 'tests', path


@pytest.mark.parametrize('mode', ['--vertex', '--kubeflow'])
def test_compile_writes_a_spec_naming_every_component(tmp_path, mode):
  output = str(tmp_path / 'pipeline.json')
  assert pipeline_runner.main([mode, '--output', output, '--pipeline-root', 'gs://bucket/root',
                               '--', '--runner=DataflowRunner', '--project=p', '--region=r']) == 0
  with open(output) as f:
    spec = json.load(f)
  tasks = spec['pipelineSpec']['root']['dag']['tasks']
  for name in ('TriplesExampleGen', 'DomainAdaptation', 'StatisticsGen', 'ImportSchemaGen', 'ExampleValidator',
               'Transform', 'Trainer', 'latest_blessed_model_resolver', 'ExactMatchEvaluator',
               'Pusher', 'CatalogQuestionGen', 'CatalogBulkInferrer', 'CatalogWriter'):
    assert any(task == name or task.startswith(name + '-') for task in tasks), name
  assert '--runner=DataflowRunner' in json.dumps(spec)


def test_the_enrichment_pipeline_compiles_without_training(tmp_path):
  output = str(tmp_path / 'enrich.json')
  assert pipeline_runner.main(['--vertex', '--enrich-only', '--output', output]) == 0
  with open(output) as f:
    tasks = json.load(f)['pipelineSpec']['root']['dag']['tasks']
  assert {'CatalogQuestionGen', 'CatalogBulkInferrer', 'CatalogWriter'} <= set(tasks)
  assert not any(name.startswith(('Trainer', 'Transform', 'ExactMatchEvaluator', 'Pusher')) for name in tasks)
  assert any(name.startswith('latest_blessed_model_resolver') for name in tasks)


@pytest.mark.parametrize('mode', ['--vertex', '--kubeflow'])
def test_incremental_compiles_with_the_previous_answers_resolved(tmp_path, mode):
  output = str(tmp_path / 'incremental.json')
  assert pipeline_runner.main([mode, '--enrich-only', '--incremental', '--output', output]) == 0
  with open(output) as f:
    tasks = json.load(f)['pipelineSpec']['root']['dag']['tasks']
  assert any(name.startswith('previous_answers_resolver') for name in tasks)
  plain = str(tmp_path / 'plain.json')
  assert pipeline_runner.main([mode, '--enrich-only', '--output', plain]) == 0
  with open(plain) as f:
    assert not any(name.startswith('previous_answers_resolver')
                   for name in json.load(f)['pipelineSpec']['root']['dag']['tasks'])


def test_an_epoch_budget_compiles_the_trainer_counts_its_steps(tmp_path):
  # The Trainer turns epochs into steps from the train split it reads: nothing is counted
  # before the pipeline runs, so a compiled spec can carry an epoch budget.
  assert pipeline_runner.main(['--vertex', '--budget', 'cpu', '--output', str(tmp_path / 'p.json')]) == 0
  spec = (tmp_path / 'p.json').read_text()
  assert '\\"epochs\\": 4' in spec


DATAFLOW_ARGS = ['--runner=DataflowRunner', '--project=my-project', '--region=europe-west4',
                 '--temp_location=gs://bucket/tmp', '--staging_location=gs://bucket/staging',
                 '--machine_type=n2-highmem-8', '--max_num_workers=50', '--experiments=use_runner_v2',
                 '--sdk_container_image=europe-docker.pkg.dev/my-project/aveqa/beam:latest']


def test_the_local_pipeline_builds_for_dataflow_by_flags_alone():
  """Scale-out is a change of Beam flags: every Beam step (catalog ones included) gets them."""
  from pipelines.pipeline import create_pipeline
  _, config = pipeline_runner.parse(
      ['--local', '--catalog', 'gs://bucket/catalog/*.parquet', '--triples', 'gs://bucket/triples/*',
       '--pipeline-root', 'gs://bucket/root', '--'] + DATAFLOW_ARGS)
  pipeline = create_pipeline(config)
  assert pipeline.beam_pipeline_args == DATAFLOW_ARGS + ['--beam_plugins=tensorflow_text']
  beam_steps = {c.id for c in pipeline.components if hasattr(c, 'with_beam_pipeline_args')}
  assert {'TriplesExampleGen', 'Transform', 'CatalogQuestionGen', 'CatalogBulkInferrer', 'CatalogWriter'} <= beam_steps
  # The pipeline's args first, the catalog steps' own last (so they win on the local runner).
  for step in ('CatalogQuestionGen', 'CatalogBulkInferrer', 'CatalogWriter'):
    component = next(c for c in pipeline.components if c.id == step)
    assert component.executor_spec.beam_pipeline_args == (
        DATAFLOW_ARGS + ['--beam_plugins=tensorflow_text', '--direct_running_mode=in_memory']), step
  transform = next(c for c in pipeline.components if c.id == 'Transform')
  assert transform.executor_spec.beam_pipeline_args == DATAFLOW_ARGS + ['--beam_plugins=tensorflow_text']


def test_transform_and_trainer_get_their_sections_of_the_config():
  from pipelines.pipeline import create_pipeline
  _, config = pipeline_runner.parse(['--local', '--max-attribute-tokens', '9', '--warmup-fraction', '0.2',
                                     '--seed', '3'])
  components = {c.id: c for c in create_pipeline(config).components}
  transform = json.loads(components['Transform'].exec_properties['custom_config'])
  trainer = json.loads(components['Trainer'].exec_properties['custom_config'])
  assert configs.section_from_dict(configs.ModelConfig, transform['model']).max_attribute_tokens == 9
  assert configs.section_from_dict(configs.TrainingConfig, trainer['training']).warmup_fraction == 0.2
  assert trainer['seed'] == 3 and trainer['model'] == transform['model']
  assert transform['model']['checkpoint']   # the packaged checkpoint, resolved to a path


def test_bad_input_is_one_clear_line_and_exit_code_1(tmp_path, capsys, monkeypatch):
  from pipelines import console
  monkeypatch.setattr(console, 'quiet_native_logs', lambda verbose: None)   # keep pytest's stderr
  code = pipeline_runner.main([
      '--local', '--enrich-only', '--model', str(tmp_path / 'model'),
      '--catalog', str(tmp_path / 'nothing' / '*.parquet'), '--pipeline-root', str(tmp_path / 'root'),
      '--metadata-path', str(tmp_path / 'metadata.sqlite')])
  err = capsys.readouterr().err
  assert code == 1
  assert f"error: no catalog files match {tmp_path / 'nothing' / '*.parquet'}" in err
  assert 'Traceback' not in err


def test_the_trainer_starts_from_the_adapted_checkpoint_unless_adaptation_is_off():
  from pipelines.pipeline import create_pipeline
  _, config = pipeline_runner.parse(['--local', '--adapt-steps', '40', '--adapt-mask-rate', '0.2'])
  components = {c.id: c for c in create_pipeline(config).components}
  adaptation = components['DomainAdaptation']
  assert (adaptation.exec_properties['steps'], adaptation.exec_properties['mask_rate']) == (40, 0.2)
  assert components['Trainer'].inputs['base_model'].producer_component_id == 'DomainAdaptation'
  _, config = pipeline_runner.parse(['--local', '--adapt-steps', '0'])
  components = {c.id: c for c in create_pipeline(config).components}
  assert 'DomainAdaptation' not in components and 'base_model' not in components['Trainer'].inputs


def test_new_code_makes_new_ingest_cache_keys_so_no_step_serves_the_old_codes_output(monkeypatch):
  # TFX's cache sees parameters and inputs, not code: every step reads the ingest steps'
  # artifacts, so keying those two with the code re-runs the whole chain after an upgrade.
  from pipelines import pipeline
  _, config = pipeline_runner.parse(['--local', '--catalog', 'c.parquet'])

  def ingest_keys():
    steps = {c.id: c for c in pipeline.create_pipeline(config, triples_fingerprint='t', catalog_fingerprint='c').components}
    enrich = {c.id: c for c in pipeline.create_enrichment_pipeline(config, catalog_fingerprint='c').components}
    return (steps['CatalogQuestionGen'].exec_properties['input_fingerprint'],
            steps['TriplesExampleGen'].exec_properties['input_fingerprint'],
            enrich['CatalogQuestionGen'].exec_properties['input_fingerprint'])

  today = ingest_keys()
  assert ingest_keys() == today   # the same code and files: the same keys, so the cache serves
  monkeypatch.setattr(pipeline, 'code_fingerprint', lambda: 'upgraded')
  upgraded = ingest_keys()
  assert all(new != old for new, old in zip(upgraded, today))
  assert upgraded[0].startswith('c ') and upgraded[1].startswith('t ')   # the files still count
