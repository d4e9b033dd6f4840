from benchmarks import experiments


def test_baselines_train_at_the_budget_the_run_trained_at():
  # A run with --epochs 2 on the cpu preset (4 epochs): the HF recipe beside it trains 2.
  run = {'budget': {'name': 'cpu', 'epochs': 2.0, 'steps': 1331}}
  budget = experiments.run_budget(run)
  assert budget['epochs'] == 2.0
  assert budget['batch_size'] == experiments.budget_fields('cpu')['batch_size'] == 32
  assert experiments.run_budget({'budget': {'name': 'cpu'}})['epochs'] == experiments.budget_fields('cpu')['epochs']
