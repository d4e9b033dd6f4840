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
