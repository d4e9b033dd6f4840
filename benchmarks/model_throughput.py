"""Training and inference throughput of AVEQA and of SUOpenTag on this machine.

  .venv/bin/python -m benchmarks.model_throughput [--checkpoint DIR] [--lengths 64 128]

Full sequences of each length (every token real: the worst case a max length allows),
the packaged MiniLM-L6 by default. Training: examples/s of the full multi-task step
(alpha = beta = 0.5: student pass, masked student pass, frozen teacher pass) and of the
QA+CLS step (alpha = 0), and of SUOpenTag's step (BiLSTMs, attention, CRF likelihood).
Inference: sequences/s of predict_spans (AVEQA: encoder, top-k begin search, conditioned
ends; SUOpenTag: tagger, Viterbi, CRF partition). Each figure is timed --repeats times;
the table shows median [min-max]. Run on a quiet machine.
"""
import argparse
import os
import statistics
import time

os.environ.setdefault('KERAS_BACKEND', 'tensorflow')
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from benchmarks.matmul_rates import cpu_line  # noqa: E402
from components.trainer import build_extractor  # noqa: E402
from model import aveqa  # noqa: E402
from pipelines import configs  # noqa: E402
from model.checkpoint import read_checkpoint  # noqa: E402


def make_batch(checkpoint, batch, length, seed=0):
  ids = checkpoint.special_ids
  rng = np.random.default_rng(seed)
  token_ids = rng.integers(1000, checkpoint.config['vocab_size'], (batch, length)).astype(np.int32)
  attribute_start = length - 4
  token_ids[:, 0], token_ids[:, attribute_start - 1], token_ids[:, -1] = ids['cls'], ids['sep'], ids['sep']
  segment_ids = np.zeros((batch, length), np.int32)
  segment_ids[:, attribute_start:] = 1
  return {'token_ids': tf.constant(token_ids), 'segment_ids': tf.constant(segment_ids),
          'padding_mask': tf.ones((batch, length), tf.int32),
          'begin_position': tf.constant(rng.integers(1, attribute_start - 3, batch), tf.int32),
          'end_position': tf.constant(rng.integers(1, attribute_start - 3, batch) + 2, tf.int32),
          'has_answer': tf.constant(rng.integers(0, 2, batch), tf.int32)}


def timed(fn, steps, repeats):
  fn()   # trace and warm up
  fn()
  rates = []
  for _ in range(repeats):
    start = time.perf_counter()
    for _ in range(steps):
      fn()
    rates.append(steps / (time.perf_counter() - start))
  return rates


def show(rates, per_call):
  rates = [r * per_call for r in rates]
  return f'{statistics.median(rates):7.1f} [{min(rates):.1f}-{max(rates):.1f}]'


def aveqa_config(alpha):
  """The pipeline's default model settings with the given distilled-MLM weight."""
  return aveqa.AveqaConfig.from_settings(configs.ModelConfig(alpha=alpha))


def main():
  parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument('--checkpoint', default=None)
  parser.add_argument('--lengths', type=int, nargs='+', default=[64, 128])
  parser.add_argument('--train-batch', type=int, default=16)
  parser.add_argument('--infer-batch', type=int, default=64)
  parser.add_argument('--steps', type=int, default=5)
  parser.add_argument('--repeats', type=int, default=3)
  args = parser.parse_args()

  checkpoint = read_checkpoint(args.checkpoint)
  print(cpu_line())
  print(f'checkpoint {checkpoint.path}: {checkpoint.config["num_hidden_layers"]} layers, '
        f'hidden {checkpoint.config["hidden_size"]}; TF threads: inter '
        f'{tf.config.threading.get_inter_op_parallelism_threads()} intra '
        f'{tf.config.threading.get_intra_op_parallelism_threads()}; cpus {os.cpu_count()}')
  rows = []
  for alpha, name in ((0.5, 'train AVEQA (QA+MLM+CLS)'), (0.0, 'train QA+CLS (alpha=0)')):
    model = aveqa.build_model(checkpoint, aveqa_config(alpha))
    model.compile(optimizer=keras.optimizers.Adam(1e-5))
    for length in args.lengths:
      batch = make_batch(checkpoint, args.train_batch, length)
      rates = timed(lambda: model.train_on_batch(batch, return_dict=True), args.steps, args.repeats)
      rows.append((name, length, args.train_batch, 'examples/s', show(rates, args.train_batch)))
  training = configs.TrainingConfig()
  tagger, lr, _ = build_extractor(checkpoint, configs.ModelConfig(model_type='suopentag'), training)
  tagger.compile(optimizer=keras.optimizers.Adam(lr))
  for length in args.lengths:
    batch = make_batch(checkpoint, args.train_batch, length)
    rates = timed(lambda: tagger.train_on_batch(batch, return_dict=True), args.steps, args.repeats)
    rows.append(('train SUOpenTag', length, args.train_batch, 'examples/s', show(rates, args.train_batch)))
  for name, model in (('AVEQA', aveqa.build_model(checkpoint, aveqa_config(0.0))), ('SUOpenTag', tagger)):
    predict = tf.function(model.predict_spans, reduce_retracing=True)
    for length in args.lengths:
      batch = {k: v for k, v in make_batch(checkpoint, args.infer_batch, length).items()
               if k in ('token_ids', 'segment_ids', 'padding_mask')}
      rates = timed(lambda: predict(batch)['begin'].numpy(), args.steps, args.repeats)
      rows.append((f'inference {name}', length, args.infer_batch, 'sequences/s',
                   show(rates, args.infer_batch)))

  print(f'\n{"what":<28} {"length":>6} {"batch":>5}  {"unit":<12} median [min-max] of {args.repeats}')
  for name, length, batch, unit, value in rows:
    print(f'{name:<28} {length:>6} {batch:>5}  {unit:<12} {value}')


if __name__ == '__main__':
  main()
