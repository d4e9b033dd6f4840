"""Re-exports a trained model with the current export code (e.g. to add signatures that
an older Trainer did not write), from the Trainer's weights and Transform's graph.

  .venv/bin/python -m benchmarks.reexport_model --pipeline-root outputs/experiments/aveqa-random/pipeline_root \
      --output outputs/experiments/aveqa-random/reexported [--retune]

Takes the newest Trainer run under the pipeline root: its weights (AVEQA or SUOpenTag) and
checkpoint (the run's domain-adapted one, when it has that step), its
tuned value threshold, unseen rule and hyper-parameters, the Transform graph it trained on,
and the attributes it trained on (its train split outside the dev slice and the
pseudo-unseen attributes). The weights
are not changed. --retune chooses the threshold again with the current rule, on the same
dev slice the Trainer held out (e.g. for a model trained before the rule changed), and
writes the sweep to OUTPUT/value_threshold.json.
"""
import argparse
import glob
import json
import os

os.environ.setdefault('KERAS_BACKEND', 'tensorflow')


def _newest(pattern):
  found = glob.glob(pattern)
  if not found:
    raise SystemExit(f'nothing matches {pattern}')
  return max(found, key=os.path.getmtime)


def main():
  parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument('--pipeline-root', required=True)
  parser.add_argument('--output', required=True)
  parser.add_argument('--metadata', default=None,
                      help='the pipeline\'s MLMD sqlite (default: metadata.sqlite beside the pipeline root)')
  parser.add_argument('--retune', action='store_true',
                      help='tune the value threshold again on the run\'s dev slice')
  args = parser.parse_args()
  import tensorflow_transform as tft
  from serving import export as serving_export
  from components import trainer
  from training import data as training_data, value_tuning
  from serving.contract import TRAINING_FILE, TUNING_FILE
  from model.checkpoint import read_checkpoint

  model_settings, training, seed = trainer_settings(args.metadata or os.path.join(
      os.path.dirname(args.pipeline_root.rstrip('/')), 'metadata.sqlite'))
  # The Trainer's checkpoint: the run's domain-adapted one (with its masked-LM head) when
  # the pipeline had that step, else the configured one.
  adapted = glob.glob(os.path.join(args.pipeline_root, 'DomainAdaptation', '*', '*', 'Format-Serving'))
  checkpoint = read_checkpoint(max(adapted, key=os.path.getmtime) if adapted else model_settings.checkpoint)
  model, _, _ = trainer.build_extractor(checkpoint, model_settings, training)
  run_dir = os.path.dirname(_newest(os.path.join(args.pipeline_root, 'Trainer', 'model_run', '*',
                                                 f'{model.name}.weights.h5')))
  model.load_weights(os.path.join(run_dir, f'{model.name}.weights.h5'))
  tuning_file = os.path.join(run_dir, TUNING_FILE)
  if os.path.exists(tuning_file) and not args.retune:
    with open(tuning_file) as f:
      tuned = json.load(f)
    model.config.value_threshold = tuned['threshold']
    if 'unseen_rule' in tuned:
      model.config.unseen_kind = tuned['unseen_rule']['kind']
      model.config.unseen_threshold = tuned['unseen_rule']['threshold']
  tft_output = tft.TFTransformOutput(_newest(os.path.join(args.pipeline_root, 'Transform', 'transform_graph', '*')))
  train_files = [os.path.join(_newest(os.path.join(args.pipeline_root, 'Transform', 'transformed_examples', '*')),
                  'Split-train', '*')]
  # A model trained before the Trainer's last pass existed never learnt the pseudo-unseen
  # attributes it drew: the same draw, not "seen".
  record = _newest(os.path.join(args.pipeline_root, 'Trainer', 'model', '*', TRAINING_FILE))
  with open(record) as f:
    has_last_pass = 'last_pass_steps' in json.load(f)
  not_trained = frozenset() if has_last_pass else value_tuning.choose_pseudo_unseen(
      training_data.attribute_counts(train_files, _data_accessor(), tft_output),
      training.pseudo_unseen_fraction, training.pseudo_unseen_max_questions, seed)[0]
  unseen = None
  if args.retune and not_trained:
    unseen = value_tuning.choose_unseen_rule(model, train_files, _data_accessor(), tft_output,
                                             training.batch_size, not_trained)
  tuning = value_tuning.settle_decisions(model, train_files, _data_accessor(), tft_output, training.batch_size,
                                         training.dev_fraction, args.output if args.retune else None,
                                         unseen, not_trained)
  serving_export.export_serving_model(model, tft_output, args.output, checkpoint.approximate_gelu)
  print(f'Re-exported {run_dir} (value threshold {model.config.value_threshold}, unseen attributes: '
        f'{model.config.unseen_kind} >= {model.config.unseen_threshold}'
        f'{" retuned on %d dev examples" % tuning["dev_examples"] if tuning else ""}) to {args.output}')


def trainer_settings(store_path):
  """(ModelConfig, TrainingConfig, seed) the newest Trainer run was given. Runs from before
  the typed configuration passed one flat dict of hyper-parameters; its keys are sorted
  into the two sections. Runs from before the pseudo-unseen hold-out held none out."""
  import dataclasses
  from pipelines import configs
  custom = _trainer_custom_config(store_path)
  if 'model' in custom:
    training = custom['training']
    if 'pseudo_unseen_fraction' not in training:
      training = dict(training, pseudo_unseen_fraction=0.0)
    return (configs.section_from_dict(configs.ModelConfig, custom['model']),
            configs.section_from_dict(configs.TrainingConfig, training), custom.get('seed', 0))
  pick = lambda section: {f.name: custom[f.name] for f in dataclasses.fields(section) if f.name in custom}
  return (configs.ModelConfig(**pick(configs.ModelConfig)),
          configs.TrainingConfig(**dict(pick(configs.TrainingConfig), pseudo_unseen_fraction=0.0)),
          custom.get('seed', 0))


def _data_accessor():
  """The one part of the Trainer's DataAccessor that the dev slice reads with."""
  import types
  from tfx_bsl.public import tfxio

  def tf_dataset_factory(file_patterns, options, schema):
    return tfxio.TFExampleRecord(file_pattern=file_patterns, schema=schema).TensorFlowDataset(options)
  return types.SimpleNamespace(tf_dataset_factory=tf_dataset_factory)


def _trainer_custom_config(store_path):
  """The Trainer's custom_config of the newest run, from the pipeline's MLMD store."""
  from tfx.orchestration import metadata
  config = metadata.sqlite_metadata_connection_config(store_path)
  with metadata.Metadata(config) as m:
    executions = [e for e in m.store.get_executions()
                  if 'custom_config' in e.properties or 'custom_config' in e.custom_properties]
    trainer_runs = [e for e in executions if 'Trainer' in m.store.get_execution_types_by_id([e.type_id])[0].name]
    newest = max(trainer_runs, key=lambda e: e.id)
    props = newest.properties if 'custom_config' in newest.properties else newest.custom_properties
    return json.loads(props['custom_config'].string_value)


if __name__ == '__main__':
  main()
