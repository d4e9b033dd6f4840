import json

import pytest

import pipeline_runner


def test_flags_fill_the_config():
  args = pipeline_runner.build_parser().parse_args([
      '--local', '--triples', 'gs://bucket/triples.txt', '--catalog', '/data/*.parquet',
      '--attributes', 'Brand Name, Color', '--split', 'zero_shot', '--held-out', 'Frame Color',
      '--alpha', '0', '--beta', '0.25', '--train-steps', '7', '--min-f1', '0.8',
      '--precision', 'bfloat16', '--inference-batch-size', '512', '--bucket-size', '4096',
      '--dev-fraction', '0.1', '--', '--runner=DataflowRunner', '--project=p', '--region=europe-west4'])
  config = pipeline_runner.config_from_args(args)
  assert config.triples == 'gs://bucket/triples.txt' and config.catalog == '/data/*.parquet'
  assert config.attributes() == ['Brand Name', 'Color']
  assert config.split_rule == 'zero_shot' and config.held_out_attributes == ('Frame Color',)
  assert (config.alpha, config.beta, config.train_steps, config.min_f1) == (0.0, 0.25, 7, 0.8)
  assert (config.inference_precision, config.inference_batch_size, config.bucket_size) == ('bfloat16', 512, 4096)
  assert config.hparams()['dev_fraction'] == 0.1
  assert config.beam_pipeline_args == ['--runner=DataflowRunner', '--project=p', '--region=europe-west4',
                                       '--beam_plugins=tensorflow_text']


def test_the_precision_flag_offers_exactly_the_exported_signatures():
  from components import trainer
  assert pipeline_runner.SERVING_PRECISIONS == trainer.PRECISIONS


def test_defaults_are_the_embedded_sample_and_direct_runner():
  config = pipeline_runner.config_from_args(pipeline_runner.build_parser().parse_args(['--local']))
  assert config.triples.endswith('data/sample/triples/*.txt')
  assert config.attributes() == ['Brand Name', 'Material', 'Color', 'Gender', 'Item Type']
  assert '--direct_running_mode=multi_processing' in config.beam_pipeline_args
  assert '--beam_plugins=tensorflow_text' in config.beam_pipeline_args


def test_a_mode_is_required():
  with pytest.raises(SystemExit):
    pipeline_runner.build_parser().parse_args([])


@pytest.mark.parametrize('mode', ['--vertex', '--kubeflow'])
def test_compile_writes_a_spec_naming_every_component(tmp_path, mode):
  output = str(tmp_path / 'pipeline.json')
  assert pipeline_runner.main([mode, '--output', output, '--pipeline-root', 'gs://bucket/root',
                               '--', '--runner=DataflowRunner', '--project=p', '--region=r']) == 0
  with open(output) as f:
    spec = json.load(f)
  tasks = spec['pipelineSpec']['root']['dag']['tasks']
  for name in ('TriplesExampleGen', 'StatisticsGen', 'ImportSchemaGen', 'ExampleValidator',
               'Transform', 'Trainer', 'latest_blessed_model_resolver', 'ExactMatchEvaluator',
               'Pusher', 'CatalogQuestionGen', 'CatalogBulkInferrer', 'CatalogWriter'):
    assert any(task == name or task.startswith(name + '-') for task in tasks), name
  assert '--runner=DataflowRunner' in json.dumps(spec)


DATAFLOW_ARGS = ['--runner=DataflowRunner', '--project=my-project', '--region=europe-west4',
                 '--temp_location=gs://bucket/tmp', '--staging_location=gs://bucket/staging',
                 '--machine_type=n2-highmem-8', '--max_num_workers=50', '--experiments=use_runner_v2',
                 '--sdk_container_image=europe-docker.pkg.dev/my-project/aveqa/beam:latest']


def test_the_local_pipeline_builds_for_dataflow_by_flags_alone():
  """Scale-out is a change of Beam flags: every Beam step (catalog ones included) gets them."""
  from pipelines.pipeline import create_pipeline
  config = pipeline_runner.config_from_args(pipeline_runner.build_parser().parse_args(
      ['--local', '--catalog', 'gs://bucket/catalog/*.parquet', '--triples', 'gs://bucket/triples/*',
       '--pipeline-root', 'gs://bucket/root', '--'] + DATAFLOW_ARGS))
  pipeline = create_pipeline(config)
  assert pipeline.beam_pipeline_args == DATAFLOW_ARGS + ['--beam_plugins=tensorflow_text']
  beam_steps = {c.id for c in pipeline.components if hasattr(c, 'with_beam_pipeline_args')}
  assert {'TriplesExampleGen', 'Transform', 'CatalogQuestionGen', 'CatalogBulkInferrer', 'CatalogWriter'} <= beam_steps
  inferrer = next(c for c in pipeline.components if c.id == 'CatalogBulkInferrer')
  # The pipeline's args first, the inference step's own last (so they win on the local runner).
  assert inferrer.executor_spec.beam_pipeline_args == (
      DATAFLOW_ARGS + ['--beam_plugins=tensorflow_text', '--direct_running_mode=in_memory'])
