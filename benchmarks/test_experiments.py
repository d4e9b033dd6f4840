from benchmarks import experiments


def test_baselines_train_at_the_budget_the_run_trained_at():
  # A run with --epochs 2 on the cpu preset (4 epochs): the HF recipe beside it trains 2.
  run = {'budget': {'name': 'cpu', 'epochs': 2.0, 'steps': 1331}}
  budget = experiments.run_budget(run)
  assert budget['epochs'] == 2.0
  assert budget['batch_size'] == experiments.budget_fields('cpu')['batch_size'] == 32
  assert experiments.run_budget({'budget': {'name': 'cpu'}})['epochs'] == experiments.budget_fields('cpu')['epochs']


def _run_config(*argv):
  import argparse
  from pipelines import configs
  parser = argparse.ArgumentParser()
  parser.add_argument('--results-dir', default='/tmp/experiments')
  parser.add_argument('--name', default='x')
  parser.add_argument('--experiment', default='aveqa', choices=sorted(experiments.EXPERIMENTS))
  configs.add_flags(parser)
  return experiments.experiment_config(parser.parse_args(list(argv)))


def test_an_experiment_is_the_pipelines_configuration_with_named_overrides():
  from pipelines import configs
  config = _run_config('--experiment', 'qa', '--split', 'zero_shot', '--seed', '1')
  assert (config.model.alpha, config.model.beta) == (0.0, 0.0)              # the named overrides
  assert (config.split.rule, config.seed) == ('zero_shot', 1)               # the pipeline's own flags
  assert config.data.triples == experiments.AE_PUB and not config.data.mine_known_values
  assert config.training.epochs == configs.BUDGETS['cpu']['training.epochs']   # the default budget
  # Defaults are the pipeline's: nothing the experiment does not name differs.
  plain = _run_config()
  assert plain.model == configs.PipelineConfig().model.__class__(
      **{**configs.PipelineConfig().model.__dict__, 'max_seq_length': configs.BUDGETS['cpu']['model.max_seq_length']})
  # Flags win over the experiment's overrides.
  assert _run_config('--experiment', 'qa', '--alpha', '0.25').model.alpha == 0.25
