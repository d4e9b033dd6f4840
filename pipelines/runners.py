"""Running the pipeline: now, on this machine (LocalDagRunner, ML Metadata in SQLite), or
compiled into a KFP v2 spec that Vertex AI Pipelines and Kubeflow Pipelines both run."""
import contextlib
import hashlib
import os
import shutil
import tempfile

from pipelines import configs, console, run_outputs


def input_fingerprint(pattern: str) -> str:
  """Names, sizes and modification times of the files a pattern matches (local or gs://).
  TFX's cache keys a step by its parameters: without this, a file replaced under the same
  pattern (tonight's catalog) would be served last night's cached output."""
  import tensorflow as tf
  digest = hashlib.sha256()
  for path in sorted(tf.io.gfile.glob(pattern)):
    stat = tf.io.gfile.stat(path)
    digest.update(f'{path}\0{stat.length}\0{stat.mtime_nsec}\n'.encode())
  return digest.hexdigest()[:16]


def training_inputs_fingerprint(data: configs.DataConfig) -> str:
  """Of the labelled triples and, when given, the reviewed queues: ingest reads both."""
  fingerprint = input_fingerprint(data.triples_pattern())
  return fingerprint + ('+' + input_fingerprint(data.reviewed) if data.reviewed else '')


def check_fill_settings(config: configs.PipelineConfig, model_dir=None):
  """The fill settings the writer reads at the end of a run, checked before the run starts:
  precision targets (and that a gate scored the model that fills), the alias table."""
  from catalog import questions, vocabulary
  from evaluation import precision_targets
  if config.fill.has_targets and model_dir:
    raise ValueError(precision_targets.NEEDS_THE_GATE)
  if not (config.fill.attribute_precision or config.fill.value_aliases):
    return
  attributes = list(config.data.target_attributes()) or questions.attribute_columns(
      questions.read_schema(config.data.catalog_pattern()), config.data.category_column)
  precision_targets.parse_targets(config.fill.target_precision, config.fill.attribute_precision, attributes)
  vocabulary.read_aliases(config.fill.value_aliases, attributes)


def run_local(config: configs.PipelineConfig, verbose: bool = False) -> run_outputs.RunOutputs:
  """Runs every step here and returns what the run wrote (summary, anomalies, report)."""
  from pipelines.pipeline import create_pipeline
  check_fill_settings(config)
  fingerprints = {'triples_fingerprint': training_inputs_fingerprint(config.data),
                  'catalog_fingerprint': input_fingerprint(config.data.catalog_pattern())}
  return _run_here(config, lambda metadata: create_pipeline(config, metadata, **fingerprints),
                   config.name, verbose)


def run_enrichment(config: configs.PipelineConfig, model_dir=None,
                   verbose: bool = False) -> run_outputs.RunOutputs:
  """Runs the catalog steps alone (no training, no gate) with the newest blessed model,
  or with the model in model_dir."""
  from pipelines.pipeline import create_enrichment_pipeline
  check_fill_settings(config, model_dir)
  if not model_dir and not run_outputs.has_blessed_model(config.metadata_path, config.name):
    raise LookupError(f'no blessed model in {config.metadata_path} for pipeline {config.name!r}: '
                      'run the training pipeline first, or pass --model DIR')
  catalog = input_fingerprint(config.data.catalog_pattern())
  return _run_here(config, lambda metadata: create_enrichment_pipeline(
      config, model_dir, metadata, catalog_fingerprint=catalog), config.name, verbose)


def _run_here(config, make_pipeline, pipeline_name, verbose):
  import tensorflow_text  # noqa: F401  (the Transform graph and the model hold its ops)
  from tfx import v1 as tfx
  os.makedirs(os.path.dirname(os.path.abspath(config.metadata_path)), exist_ok=True)
  pipeline = make_pipeline(tfx.orchestration.metadata.sqlite_metadata_connection_config(config.metadata_path))
  console.setup_logging(verbose, steps=len(pipeline.components))
  with _run_temp_dir():
    tfx.orchestration.LocalDagRunner().run(pipeline)
  return run_outputs.newest_run(config.metadata_path, pipeline_name)


@contextlib.contextmanager
def _run_temp_dir():
  """Points temporary files (this process's and its Beam workers') into one folder that is
  removed when the run ends. Each Beam step's TFX executor copies the installed TFX package
  (about 50 MB) into a new temporary folder to stage it for remote workers and never removes
  it; nightly runs would fill the disk."""
  folder = tempfile.mkdtemp(prefix='aveqa-run-')
  saved_tempdir, saved_env = tempfile.tempdir, os.environ.get('TMPDIR')
  tempfile.tempdir = os.environ['TMPDIR'] = folder
  try:
    yield folder
  finally:
    tempfile.tempdir = saved_tempdir
    if saved_env is None:
      os.environ.pop('TMPDIR', None)
    else:
      os.environ['TMPDIR'] = saved_env
    shutil.rmtree(folder, ignore_errors=True)


def compile_kfp(config: configs.PipelineConfig, output: str, enrich_only: bool = False,
                model_dir=None) -> str:
  """Writes the KFP v2 pipeline spec (Vertex AI and Kubeflow read the same file) of the
  training pipeline, or with enrich_only of the enrichment one; no network."""
  from tfx import v1 as tfx
  from pipelines.pipeline import create_enrichment_pipeline, create_pipeline
  pipeline = create_enrichment_pipeline(config, model_dir) if enrich_only else create_pipeline(config)
  runner = tfx.orchestration.experimental.KubeflowV2DagRunner(
      config=tfx.orchestration.experimental.KubeflowV2DagRunnerConfig(default_image=config.image),
      output_filename=output)
  runner.run(pipeline)
  return output
