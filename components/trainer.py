"""Trainer's run_fn: trains the extractor (AVEQA, or SUOpenTag with --model-type) on
Transform's output and exports the serving model.

  custom_config: {'model': ModelConfig, 'training': TrainingConfig, 'seed': int} as dicts
  (model/config.py, training/config.py), plus a code fingerprint that only TFX's cache reads.

The input pipeline is training/data.py, the value threshold's tuning
training/value_tuning.py, the export serving/export.py.
"""
import contextlib
import json
import logging
import math
import os
import time

import keras
import tensorflow as tf
import tensorflow_text  # noqa: F401  (registers the tokenizer ops of the Transform graph)
import tensorflow_transform as tft

from training import domain_adaptation
from serving import export as serving_export
from training import data as training_data, value_tuning
from serving.contract import TRAINING_FILE
from model import aveqa, suopentag
from model.checkpoint import read_checkpoint
from model.config import ModelConfig, from_dict
from training.config import TrainingConfig

log = logging.getLogger(__name__)
PROGRESS_STEPS = 50   # a progress line (and a Keras "epoch") every this many steps


def choose_strategy(tpu=None):
  """TPUStrategy when a TPU is configured, MirroredStrategy on GPUs, else the default."""
  if tpu is not None:
    resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu)
    tf.config.experimental_connect_to_cluster(resolver)
    tf.tpu.experimental.initialize_tpu_system(resolver)
    return tf.distribute.TPUStrategy(resolver), 'mixed_bfloat16'
  gpus = tf.config.list_logical_devices('GPU')
  if gpus:
    return tf.distribute.MirroredStrategy(), 'mixed_float16'
  return tf.distribute.get_strategy(), None


def learning_rate(training: TrainingConfig, steps, lr):
  """lr constant, or linear warm-up over warmup_fraction of the steps then linear decay."""
  warmup = int(steps * training.warmup_fraction)
  if warmup <= 0:
    return lr
  decay = keras.optimizers.schedules.PolynomialDecay(lr, max(steps - warmup, 1), 0.0)

  class WarmupThenDecay(keras.optimizers.schedules.LearningRateSchedule):
    def __call__(self, step):
      step = tf.cast(step, tf.float32)
      return tf.where(step < warmup, lr * step / warmup, decay(step - warmup))
  return WarmupThenDecay()


def build_extractor(checkpoint, model: ModelConfig, training: TrainingConfig):
  """(the model of model.model_type, its learning rate, its summary lines)."""
  if model.model_type == 'suopentag':
    tagger = suopentag.build_model(checkpoint, suopentag.SuOpenTagConfig.from_settings(
        model, training.value_threshold))
    return tagger, training.tagger_learning_rate, suopentag.summary_lines(tagger)
  extractor = aveqa.build_model(checkpoint, aveqa.AveqaConfig.from_settings(model, training.value_threshold))
  return extractor, training.learning_rate, aveqa.summary_lines(extractor)


class ProgressLog(keras.callbacks.Callback):
  """One log line per Keras epoch (PROGRESS_STEPS steps): step, losses, elapsed time; across
  the fits of one training."""

  def __init__(self, total_steps):
    super().__init__()
    self.total_steps, self.done, self.started = total_steps, 0, time.time()

  def on_epoch_end(self, epoch, logs=None):
    self.done = min(self.done + self.params['steps'], self.total_steps)
    losses = ', '.join(f'{k} {v:.3f}' for k, v in (logs or {}).items() if k.endswith('loss'))
    log.info('training step %d/%d: %s (%.0f s)', self.done, self.total_steps, losses,
             time.time() - self.started)


def train_steps(training: TrainingConfig, train_examples: int) -> int:
  """training.train_steps, or with training.epochs that many passes over the train split's
  examples in batches of training.batch_size (counted here, where the data is)."""
  if training.epochs is None:
    return training.train_steps
  return max(1, math.ceil(train_examples * training.epochs / training.batch_size))


def last_pass_steps(steps: int, train_examples: int, batch_size: int) -> int:
  """The steps at the end of training that also train on the pseudo-unseen attributes: one
  pass over the train split, at most half the steps."""
  return min(math.ceil(train_examples / batch_size), steps // 2)


def fit(model, dataset, steps, callbacks, evaluation=None, eval_steps=None):
  """steps of training in Keras "epochs" of at most PROGRESS_STEPS steps, so a long run
  reports as it goes; the evaluation data, when given, is scored once, at the end."""
  if steps <= 0:
    return
  chunk = min(steps, PROGRESS_STEPS)
  epochs = -(-steps // chunk)
  model.fit(dataset, steps_per_epoch=chunk, epochs=epochs, validation_data=evaluation,
            validation_freq=epochs, validation_steps=eval_steps, callbacks=callbacks, verbose=0)


@contextlib.contextmanager
def global_policy(name):
  """Keras's global dtype policy set to name (None: left as it is) inside the block and
  restored after: LocalDagRunner runs every component in one process, and the steps after
  the Trainer build their models in float32."""
  previous = keras.mixed_precision.global_policy()
  if name:
    keras.mixed_precision.set_global_policy(name)
  try:
    yield
  finally:
    keras.mixed_precision.set_global_policy(previous)


def run_fn(fn_args):
  """TFX Trainer entry point."""
  training = from_dict(TrainingConfig, fn_args.custom_config['training'])
  strategy, precision = choose_strategy(training.tpu)
  with global_policy(precision):
    train_and_export(fn_args, strategy)


def train_and_export(fn_args, strategy):
  custom = fn_args.custom_config
  model_settings = from_dict(ModelConfig, custom['model'])
  training = from_dict(TrainingConfig, custom['training'])
  keras.utils.set_random_seed(custom['seed'])
  tft_output = tft.TFTransformOutput(fn_args.transform_output)
  fixed_length = model_settings.max_seq_length if training.tpu is not None else None
  batch_size = training.batch_size * strategy.num_replicas_in_sync

  # Where the training examples came from (labelled, mined) and which have a span to learn.
  counts = training_data.example_counts(fn_args.train_files, fn_args.data_accessor, tft_output)
  log.info('train split: %s', training_data.counts_line(counts))
  if log.isEnabledFor(logging.DEBUG):
    log.debug('eval split: %s', training_data.counts_line(
        training_data.example_counts(fn_args.eval_files, fn_args.data_accessor, tft_output)))
  # The domain-adapted checkpoint when the pipeline has that step (TFX's base model), else
  # the configured one: the student starts from it and the frozen teacher is it.
  checkpoint = read_checkpoint(fn_args.base_model or model_settings.checkpoint)
  adaptation = domain_adaptation.read_summary(fn_args.base_model) if fn_args.base_model else None
  log.info('checkpoint: %s', f"adapted by {adaptation['steps']} masked-LM steps on {adaptation['texts']} "
           f"texts of this run" if adaptation else checkpoint.path)
  train_examples = sum(n for by_status in counts.values() for n in by_status.values())
  steps = train_steps(training, train_examples)   # TFX's TrainArgs cannot say 0 ("not set")
  with strategy.scope():
    model, lr, summary = build_extractor(checkpoint, model_settings, training)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate(training, steps, lr)))
  log.debug('\n'.join(summary))
  # Rare attributes held out of the first part of training, to choose the rule for those
  # never trained on; the last pass over the train split (at most half the steps) trains
  # on them too, so the served model has learnt every attribute it has data for.
  pseudo_unseen, why = value_tuning.choose_pseudo_unseen(
      training_data.attribute_counts(fn_args.train_files, fn_args.data_accessor, tft_output),
      training.pseudo_unseen_fraction, training.pseudo_unseen_max_questions, custom['seed'])
  log.info(why)
  last_pass = last_pass_steps(steps, train_examples, training.batch_size) if pseudo_unseen else 0
  # Batches of windows (model/windows.py): a long title is read in overlapping windows.
  def train_data(held_out=frozenset()):
    return training_data.trainable_dataset(fn_args.train_files, fn_args.data_accessor, tft_output,
                                           model.layout, batch_size, True, fixed_length,
                                           training.dev_fraction, held_out)
  evaluation = training_data.trainable_dataset(fn_args.eval_files, fn_args.data_accessor, tft_output,
                                               model.layout, batch_size, False, fixed_length)

  log_dir = os.path.join(fn_args.model_run_dir, 'logs')
  callbacks = [keras.callbacks.TensorBoard(log_dir=log_dir, update_freq=50),
               keras.callbacks.ModelCheckpoint(os.path.join(fn_args.model_run_dir, f'{model.name}.weights.h5'),
                                               save_weights_only=True),
               ProgressLog(steps)]
  eval_steps = training.eval_steps or fn_args.eval_steps or None
  # 0 steps exports the untrained model, for the gate to refuse.
  fit(model, train_data(pseudo_unseen), steps - last_pass, callbacks,
      None if last_pass else evaluation, eval_steps)
  unseen = value_tuning.choose_unseen_rule(model, fn_args.train_files, fn_args.data_accessor, tft_output,
                                           batch_size, pseudo_unseen)
  if last_pass:
    log.info('last %d steps: the whole train split, the %d pseudo-unseen attributes included',
             last_pass, len(pseudo_unseen))
    fit(model, train_data(), last_pass, callbacks, evaluation, eval_steps)
  value_tuning.settle_decisions(model, fn_args.train_files, fn_args.data_accessor, tft_output,
                                batch_size, training.dev_fraction, fn_args.model_run_dir, unseen)
  serving_export.export_serving_model(model, tft_output, fn_args.serving_model_dir, checkpoint.approximate_gelu)
  with tf.io.gfile.GFile(os.path.join(os.path.dirname(fn_args.serving_model_dir.rstrip('/')),
                                      TRAINING_FILE), 'w') as f:
    json.dump({'steps': steps, 'last_pass_steps': last_pass, 'adaptation': adaptation}, f)
