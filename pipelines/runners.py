"""Running the pipeline: now, on this machine (LocalDagRunner, ML Metadata in SQLite), or
compiled into a KFP v2 spec that Vertex AI Pipelines and Kubeflow Pipelines both run."""
import math
import os

from pipelines import configs, console, run_outputs


def with_train_steps(config: configs.PipelineConfig) -> configs.PipelineConfig:
  """An epoch-based budget turned into steps: the train split's size times epochs over
  the batch size (counted as TriplesExampleGen will split, so it reads the triples)."""
  if config.training.epochs is None:
    return config
  from components import splits, triples
  rule = splits.SplitRule(config.split.rule, config.seed, config.split.eval_percent, config.split.held_out)
  count = triples.count_split_triples(config.data.triples, rule, splits.TRAIN, config.data.dedupe_triples)
  steps = max(1, math.ceil(count * config.training.epochs / config.training.batch_size))
  return configs.with_overrides(config, {'training.train_steps': steps})


def run_local(config: configs.PipelineConfig, verbose: bool = False) -> run_outputs.RunOutputs:
  """Runs every step here and returns what the run wrote (summary, anomalies, report)."""
  from pipelines.pipeline import create_pipeline
  config = with_train_steps(config)
  return _run_here(config, lambda metadata: create_pipeline(config, metadata), config.name, verbose)


def run_enrichment(config: configs.PipelineConfig, model_dir: str,
                   verbose: bool = False) -> run_outputs.RunOutputs:
  """Runs the catalog steps alone with a model blessed before (no training, no gate)."""
  from pipelines.pipeline import create_enrichment_pipeline
  return _run_here(config, lambda metadata: create_enrichment_pipeline(config, model_dir, metadata),
                   f'{config.name}-enrich', verbose)


def _run_here(config, make_pipeline, pipeline_name, verbose):
  import tensorflow_text  # noqa: F401  (the Transform graph and the model hold its ops)
  from tfx import v1 as tfx
  os.makedirs(os.path.dirname(os.path.abspath(config.metadata_path)), exist_ok=True)
  pipeline = make_pipeline(tfx.orchestration.metadata.sqlite_metadata_connection_config(config.metadata_path))
  console.setup_logging(verbose, steps=len(pipeline.components))
  tfx.orchestration.LocalDagRunner().run(pipeline)
  return run_outputs.newest_run(config.metadata_path, pipeline_name)


def compile_kfp(config: configs.PipelineConfig, output: str) -> str:
  """Writes the KFP v2 pipeline spec (Vertex AI and Kubeflow read the same file); no
  network. An epoch budget needs the data to count steps: give --train-steps instead."""
  if config.training.epochs is not None:
    raise ValueError('--epochs needs the triples to count the steps; compile with --train-steps')
  from tfx import v1 as tfx
  from pipelines.pipeline import create_pipeline
  runner = tfx.orchestration.experimental.KubeflowV2DagRunner(
      config=tfx.orchestration.experimental.KubeflowV2DagRunnerConfig(default_image=config.image),
      output_filename=output)
  runner.run(create_pipeline(config))
  return output
