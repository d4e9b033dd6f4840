"""The pipeline's wiring, and only that: which components, connected how.

  CatalogQuestionGen (accepted rows) -+
  labelled triples -------------------+-> TriplesExampleGen -> StatisticsGen -> ExampleValidator
       (against schemas/, via ImportSchemaGen) -> Transform -> Trainer
       -> ExactMatchEvaluator (vs. last blessed) -> Pusher
  CatalogQuestionGen (questions) -> CatalogBulkInferrer (blessed model; with --incremental
       the previous run's answers) -> CatalogWriter -> Parquet + report
"""
import dataclasses
import functools
import hashlib
import pathlib

from tfx import v1 as tfx

import schemas
from components.catalog_inferrer import CatalogBulkInferrer
from components.catalog_question_gen import CatalogQuestionGen
from components.catalog_writer import CatalogWriter
from components.domain_adaptation import DomainAdaptation
from components.exact_match_evaluator import ExactMatchEvaluator
from components.triples_example_gen import TriplesExampleGen
from pipelines import configs

# The packages whose code Transform, the Trainer and the steps they feed run.
CODE_PACKAGES = ('catalog', 'components', 'evaluation', 'model', 'serving', 'training')


@functools.cache   # the code a process runs is the code it imported: read it once
def code_fingerprint() -> str:
  """Hash of the library and component code. Transform and Trainer name their functions
  by module path, which TFX's cache cannot see into; passing this in their
  custom_config makes a code change re-run them instead of reusing stale outputs."""
  digest = hashlib.sha256()
  root = pathlib.Path(__file__).resolve().parent.parent
  for path in sorted(p for package in CODE_PACKAGES for p in (root / package).glob('*.py')):
    digest.update(path.read_bytes())
  return digest.hexdigest()[:16]


def ingest_cache_key(files_fingerprint: str) -> str:
  """What keys an ingest step's cache (its input_fingerprint): its input files and the code.
  TFX's cache sees a step's parameters and inputs, not its code; every later step reads
  the ingest steps' artifacts, so after an upgrade the whole run is redone instead of
  serving a cached enriched catalog the old code wrote."""
  return f'{files_fingerprint} code {code_fingerprint()}'


def catalog_questions(config: configs.PipelineConfig, catalog_fingerprint=''):
  """The catalog's rows validated, and a question for every missing target attribute.
  catalog_fingerprint: of the catalog files as the run starts (runners.input_fingerprint);
  it keys the step's cache with the code (ingest_cache_key), so a catalog replaced in place
  is read again."""
  return CatalogQuestionGen(
      catalog_pattern=config.data.catalog_pattern(),
      target_attributes=','.join(config.data.target_attributes()),
      category_column=config.data.category_column, attribute_map=config.data.attribute_map,
      min_category_share=config.data.min_category_share,
      use_description=int(config.data.use_description),
      repredict_known=int(config.data.repredict_known),
      no_value_tokens=','.join(config.data.no_value_tokens), alias_probes=config.fill.alias_probes,
      input_fingerprint=ingest_cache_key(catalog_fingerprint)).with_beam_pipeline_args(config.inference.beam_args)


def catalog_steps(config: configs.PipelineConfig, catalog, model, blessing=None, evaluation=None,
                  served_model=None):
  """The catalog's steps after catalog_questions, given a model channel and its blessing
  (None: a model blessed before): bulk inference, and the enriched Parquet with its
  report. served_model: the model being served, which fills the catalog when the gate
  refuses this one (unless --fill-only-when-blessed). The training pipeline and the
  enrichment pipeline share them."""
  choice = dict(served_model=served_model, fill_only_when_blessed=int(config.gate.fill_only_when_blessed))
  previous = previous_answers() if config.inference.incremental else None
  inferrer = CatalogBulkInferrer(
      examples=catalog.outputs['questions'], model=model, model_blessing=blessing, **choice,
      previous_answers=previous.outputs['inference_result'] if previous else None,
      precision=config.inference.precision, runtime=config.inference.runtime,
      batch_size=config.inference.batch_size, bucket_size=config.inference.bucket_size,
  ).with_beam_pipeline_args(config.inference.beam_args)
  writer = CatalogWriter(
      catalog_rows=catalog.outputs['catalog_rows'], inference_result=inferrer.outputs['inference_result'],
      model=model, model_blessing=blessing, evaluation=evaluation, **choice,
      use_description=int(config.data.use_description), review_size=config.inference.review_size,
      target_precision=config.fill.target_precision or 0.0, attribute_precision=config.fill.attribute_precision,
      value_aliases=config.fill.value_aliases, no_value_tokens=','.join(config.data.no_value_tokens),
      one_attribute_per_value=int(config.fill.one_attribute_per_value),
  ).with_beam_pipeline_args(config.inference.beam_args)
  return [*([previous] if previous else []), inferrer, writer]


def previous_answers():
  """The previous run's answers (the newest InferenceResult in ML Metadata), for --incremental."""
  return tfx.dsl.Resolver(
      strategy_class=tfx.dsl.experimental.LatestArtifactStrategy,
      inference_result=tfx.dsl.Channel(type=tfx.types.standard_artifacts.InferenceResult),
  ).with_id('previous_answers_resolver')


def latest_blessed_model():
  """The newest model the gate blessed, and its blessing, from ML Metadata."""
  return tfx.dsl.Resolver(
      strategy_class=tfx.dsl.experimental.LatestBlessedModelStrategy,
      model=tfx.dsl.Channel(type=tfx.types.standard_artifacts.Model),
      model_blessing=tfx.dsl.Channel(type=tfx.types.standard_artifacts.ModelBlessing),
  ).with_id('latest_blessed_model_resolver')


def create_enrichment_pipeline(config: configs.PipelineConfig, model_dir=None,
                               metadata_connection_config=None,
                               catalog_fingerprint='') -> tfx.dsl.Pipeline:
  """The catalog's steps alone, without training or gate: with the newest blessed model
  of the training pipeline (it has the same name, so it reads the same ML Metadata
  context), or with the model in model_dir (a pushed model's folder, trusted as given)."""
  if model_dir:
    source = tfx.dsl.Importer(source_uri=model_dir, artifact_type=tfx.types.standard_artifacts.Model
                              ).with_id('model_importer')
    model, blessing = source.outputs['result'], None
  else:
    source = latest_blessed_model()
    model, blessing = source.outputs['model'], source.outputs['model_blessing']
  catalog = catalog_questions(config, catalog_fingerprint)
  return tfx.dsl.Pipeline(
      pipeline_name=config.name, pipeline_root=config.pipeline_root,
      components=[source, catalog, *catalog_steps(config, catalog, model, blessing)],
      enable_cache=True, metadata_connection_config=metadata_connection_config,
      beam_pipeline_args=config.beam_args)


def create_pipeline(config: configs.PipelineConfig, metadata_connection_config=None,
                    triples_fingerprint='', catalog_fingerprint='') -> tfx.dsl.Pipeline:
  """*_fingerprint: of the input files as the run starts, keying the ingest steps' cache
  (runners.input_fingerprint; a compiled spec has none: docs/deployment.md)."""
  # The packaged checkpoint is resolved here, so every step (and the cache) sees its path.
  from model.checkpoint import default_checkpoint_dir
  model_settings = dataclasses.replace(
      config.model, checkpoint=config.model.checkpoint or default_checkpoint_dir())
  fingerprint = code_fingerprint()

  catalog = catalog_questions(config, catalog_fingerprint)
  triples = TriplesExampleGen(
      triples_pattern=config.data.triples_pattern(), split_rule=config.split.rule, seed=config.seed,
      eval_percent=config.split.eval_percent, held_out_attributes=','.join(config.split.held_out),
      dedupe=int(config.data.dedupe_triples), input_fingerprint=ingest_cache_key(triples_fingerprint),
      # Mining the catalog's known values: its accepted rows, and the rules.
      catalog_rows=catalog.outputs['catalog_rows'] if config.data.mine_known_values else None,
      use_description=int(config.data.use_description),
      known_not_in_text=config.data.known_not_in_text,
      no_value_tokens=','.join(config.data.no_value_tokens),
      value_removed_negatives=int(config.data.value_removed_negatives),
      max_mined_per_attribute=config.data.max_mined_per_attribute,
      mined_weight=config.data.mined_weight, reviewed_pattern=config.data.reviewed)
  # The checkpoint's masked-LM training continued on this run's text: the Trainer's
  # student starts from it and the distilled MLM's teacher is it.
  adaptation = None
  if config.adaptation.steps > 0:
    adaptation = DomainAdaptation(
        examples=triples.outputs['examples'], catalog_rows=catalog.outputs['catalog_rows'],
        checkpoint=model_settings.checkpoint, steps=config.adaptation.steps,
        batch_size=config.adaptation.batch_size, mask_rate=config.adaptation.mask_rate,
        max_length=config.adaptation.max_length, learning_rate=config.adaptation.learning_rate,
        dropout=config.adaptation.dropout, seed=config.seed, use_description=int(config.data.use_description), code_fingerprint=fingerprint)
  statistics = tfx.components.StatisticsGen(examples=triples.outputs['examples'])
  schema = tfx.components.ImportSchemaGen(schema_file=schemas.TRAINING_TRIPLES_SCHEMA)
  validator = tfx.components.ExampleValidator(
      statistics=statistics.outputs['statistics'], schema=schema.outputs['schema'])
  transform = tfx.components.Transform(
      examples=triples.outputs['examples'], schema=schema.outputs['schema'],
      preprocessing_fn='components.preprocessing.preprocessing_fn',
      custom_config={'model': configs.to_dict(model_settings), 'code_fingerprint': fingerprint})
  trainer = tfx.components.Trainer(
      run_fn='components.trainer.run_fn',
      examples=transform.outputs['transformed_examples'],
      transform_graph=transform.outputs['transform_graph'],
      schema=schema.outputs['schema'],
      base_model=adaptation.outputs['adapted_checkpoint'] if adaptation else None,
      # The Trainer's own count (training.epochs, when set, makes it from the train split).
      train_args=tfx.proto.TrainArgs(num_steps=config.training.train_steps),
      eval_args=tfx.proto.EvalArgs(num_steps=None),
      custom_config={'model': configs.to_dict(model_settings),
                     'training': configs.to_dict(config.training), 'seed': config.seed,
                     'code_fingerprint': fingerprint})
  baseline = latest_blessed_model()
  evaluator = ExactMatchEvaluator(
      examples=triples.outputs['examples'], model=trainer.outputs['model'],
      baseline_model=baseline.outputs['model'], min_f1=config.gate.min_f1,
      max_f1_drop=config.gate.max_f1_drop, batch_size=config.gate.batch_size,
      precision=config.inference.precision, runtime=config.inference.runtime,
      confidence_level=config.gate.confidence_level)
  pusher = tfx.components.Pusher(
      model=trainer.outputs['model'], model_blessing=evaluator.outputs['blessing'],
      push_destination=tfx.proto.PushDestination(
          filesystem=tfx.proto.PushDestination.Filesystem(base_directory=config.serving_model_dir)))
  enrichment = catalog_steps(config, catalog, trainer.outputs['model'], evaluator.outputs['blessing'],
                             evaluator.outputs['evaluation'], baseline.outputs['model'])

  return tfx.dsl.Pipeline(
      pipeline_name=config.name, pipeline_root=config.pipeline_root,
      components=[catalog, triples, *([adaptation] if adaptation else []), statistics, schema,
                  validator, transform, trainer, baseline, evaluator, pusher, *enrichment],
      enable_cache=True, metadata_connection_config=metadata_connection_config,
      beam_pipeline_args=config.beam_args)
