"""The Trainer's schedule: epochs counted where the data is, and the last pass that trains
the pseudo-unseen attributes too (components/trainer.py)."""
from components import trainer
from pipelines import configs


def test_an_epoch_budget_becomes_steps_from_the_train_split_it_reads():
  training = configs.TrainingConfig(epochs=4, batch_size=32, train_steps=150)
  assert trainer.train_steps(training, 1000) == 125          # 4 x 1000 / 32, rounded up
  assert trainer.train_steps(configs.TrainingConfig(epochs=0.05, batch_size=16), 10) == 1
  assert trainer.train_steps(configs.TrainingConfig(train_steps=150), 1000) == 150


def test_the_last_pass_is_one_epoch_at_most_half_the_training():
  assert trainer.last_pass_steps(steps=500, train_examples=3200, batch_size=32) == 100
  assert trainer.last_pass_steps(steps=120, train_examples=3200, batch_size=32) == 60
  assert trainer.last_pass_steps(steps=1, train_examples=3200, batch_size=32) == 0


def test_the_trainers_policy_is_restored_after_it(monkeypatch):
  import keras
  assert keras.mixed_precision.global_policy().name == 'float32'
  seen = []
  monkeypatch.setattr(trainer, 'choose_strategy', lambda tpu: (None, 'mixed_bfloat16'))
  monkeypatch.setattr(trainer, 'train_and_export',
                      lambda fn_args, strategy: seen.append(keras.mixed_precision.global_policy().name))
  fn_args = type('FnArgs', (), {'custom_config': {'training': {}}})()
  trainer.run_fn(fn_args)
  assert seen == ['mixed_bfloat16'] and keras.mixed_precision.global_policy().name == 'float32'

  def fails(fn_args, strategy):
    raise RuntimeError('out of memory')
  monkeypatch.setattr(trainer, 'train_and_export', fails)
  try:
    trainer.run_fn(fn_args)
  except RuntimeError:
    pass
  assert keras.mixed_precision.global_policy().name == 'float32'   # restored on failure too
