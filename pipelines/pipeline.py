"""The pipeline's wiring, and only that: which components, connected how.

  TriplesExampleGen -> StatisticsGen -> ExampleValidator (against schemas/, via ImportSchemaGen)
                    -> Transform -> Trainer -> ExactMatchEvaluator (vs. last blessed) -> Pusher
  CatalogQuestionGen -> CatalogBulkInferrer (blessed model) -> CatalogWriter -> Parquet
"""
import hashlib
import pathlib

from tfx import v1 as tfx

import schemas
from components.catalog_inferrer import CatalogBulkInferrer
from components.catalog_questions import CatalogQuestionGen
from components.catalog_writer import CatalogWriter
from components.exact_match_evaluator import ExactMatchEvaluator
from components.triples_example_gen import TriplesExampleGen
from pipelines.configs import PipelineConfig


def code_fingerprint() -> str:
  """Hash of the model and component code. Transform and Trainer name their functions
  by module path, which TFX's cache cannot see into; passing this in their
  custom_config makes a code change re-run them instead of reusing stale outputs."""
  digest = hashlib.sha256()
  root = pathlib.Path(__file__).resolve().parent.parent
  for path in sorted(list((root / 'components').glob('*.py')) + list((root / 'model').glob('*.py'))):
    digest.update(path.read_bytes())
  return digest.hexdigest()[:16]


def create_pipeline(config: PipelineConfig, metadata_connection_config=None) -> tfx.dsl.Pipeline:
  hparams = {**config.hparams(), 'code_fingerprint': code_fingerprint()}
  attributes = ','.join(config.attributes())

  triples = TriplesExampleGen(
      triples_pattern=config.triples, split_rule=config.split_rule, seed=config.seed,
      eval_percent=config.eval_percent, held_out_attributes=','.join(config.held_out_attributes),
      dedupe=int(config.dedupe_triples))
  statistics = tfx.components.StatisticsGen(examples=triples.outputs['examples'])
  schema = tfx.components.ImportSchemaGen(schema_file=schemas.TRAINING_TRIPLES_SCHEMA)
  validator = tfx.components.ExampleValidator(
      statistics=statistics.outputs['statistics'], schema=schema.outputs['schema'])
  transform = tfx.components.Transform(
      examples=triples.outputs['examples'], schema=schema.outputs['schema'],
      preprocessing_fn='components.preprocessing.preprocessing_fn',
      custom_config={'checkpoint': hparams['checkpoint'], 'max_seq_length': config.max_seq_length,
                     'code_fingerprint': hparams['code_fingerprint']})
  trainer = tfx.components.Trainer(
      run_fn='components.trainer.run_fn',
      examples=transform.outputs['transformed_examples'],
      transform_graph=transform.outputs['transform_graph'],
      schema=schema.outputs['schema'],
      train_args=tfx.proto.TrainArgs(num_steps=config.train_steps),
      eval_args=tfx.proto.EvalArgs(num_steps=None),
      custom_config=hparams)
  baseline = tfx.dsl.Resolver(
      strategy_class=tfx.dsl.experimental.LatestBlessedModelStrategy,
      model=tfx.dsl.Channel(type=tfx.types.standard_artifacts.Model),
      model_blessing=tfx.dsl.Channel(type=tfx.types.standard_artifacts.ModelBlessing),
  ).with_id('latest_blessed_model_resolver')
  evaluator = ExactMatchEvaluator(
      examples=triples.outputs['examples'], model=trainer.outputs['model'],
      baseline_model=baseline.outputs['model'], min_f1=config.min_f1,
      max_f1_drop=config.max_f1_drop, precision=config.inference_precision)
  pusher = tfx.components.Pusher(
      model=trainer.outputs['model'], model_blessing=evaluator.outputs['blessing'],
      push_destination=tfx.proto.PushDestination(
          filesystem=tfx.proto.PushDestination.Filesystem(base_directory=config.serving_model_dir)))

  catalog = CatalogQuestionGen(
      catalog_pattern=config.catalog, target_attributes=attributes,
      use_description=int(config.use_description), repredict_known=int(config.repredict_known))
  inferrer = CatalogBulkInferrer(
      examples=catalog.outputs['questions'], model=trainer.outputs['model'],
      model_blessing=evaluator.outputs['blessing'], precision=config.inference_precision,
      batch_size=config.inference_batch_size, bucket_size=config.bucket_size,
  ).with_beam_pipeline_args(config.inference_beam_pipeline_args)
  writer = CatalogWriter(
      catalog_rows=catalog.outputs['catalog_rows'], inference_result=inferrer.outputs['inference_result'],
      model=trainer.outputs['model'], model_blessing=evaluator.outputs['blessing'],
      target_attributes=attributes)

  return tfx.dsl.Pipeline(
      pipeline_name=config.pipeline_name, pipeline_root=config.pipeline_root,
      components=[triples, statistics, schema, validator, transform, trainer, baseline,
                  evaluator, pusher, catalog, inferrer, writer],
      enable_cache=True, metadata_connection_config=metadata_connection_config,
      beam_pipeline_args=config.beam_pipeline_args)
