"""Checks that our checkpoint loading is right: our encoder (keras-hub BertBackbone loaded
by model/checkpoint.py) against Hugging Face transformers' BertModel, an independent
implementation, on the same checkpoint and the same WordPiece ids.

  bash benchmarks/install_comparison.sh     # once: torch (CPU) + transformers 4.x, apart
  .venv/bin/python -m benchmarks.encoder_parity [--checkpoint DIR]

Prints the max absolute difference of the final hidden states over real (non-padding)
tokens; exits 1 if it is not below --tolerance (1e-4).
"""
import argparse
import os
import subprocess
import sys
import tempfile

os.environ.setdefault('KERAS_BACKEND', 'tensorflow')

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from model.features import encode_questions  # noqa: E402
from model.checkpoint import load_encoder, read_checkpoint  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def sample_questions(n):
  with open(os.path.join(REPO, 'data', 'sample', 'triples', 'triples.txt'), encoding='utf-8') as f:
    rows = [line.rstrip('\n').split('\u0001') for line in f][:n]
  return [r[0] for r in rows], [r[1] for r in rows]


def main():
  parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument('--checkpoint', default=None, help='default: the packaged MiniLM-L6')
  parser.add_argument('--python', default=os.path.join(REPO, '.venv-comparison', 'bin', 'python'))
  parser.add_argument('--questions', type=int, default=64)
  parser.add_argument('--tolerance', type=float, default=1e-4)
  args = parser.parse_args()

  checkpoint = read_checkpoint(args.checkpoint)
  titles, attributes = sample_questions(args.questions)
  token_ids, segment_ids, _, _ = encode_questions(tf.constant(titles), tf.constant(attributes),
                                                  checkpoint, 128, 16)
  inputs = {'token_ids': token_ids.to_tensor().numpy().astype(np.int32),
            'segment_ids': segment_ids.to_tensor().numpy().astype(np.int32),
            'padding_mask': tf.ones_like(token_ids).to_tensor().numpy().astype(np.int32)}
  ours = load_encoder(checkpoint, dropout=0.0)(inputs, training=False)['sequence_output'].numpy()

  with tempfile.TemporaryDirectory() as tmp:
    np.savez(os.path.join(tmp, 'inputs.npz'), **inputs)
    subprocess.run([args.python, os.path.join(REPO, 'benchmarks', 'hf_reference.py'),
                    '--checkpoint', checkpoint.path, '--inputs', os.path.join(tmp, 'inputs.npz'),
                    '--output', os.path.join(tmp, 'hf.npy')],
                   check=True, env=dict(os.environ, HF_HUB_OFFLINE='1', TRANSFORMERS_OFFLINE='1'))
    theirs = np.load(os.path.join(tmp, 'hf.npy'))

  real = inputs['padding_mask'].astype(bool)
  difference = np.abs(ours - theirs)[real].max()
  print(f'checkpoint: {checkpoint.path}')
  print(f'questions: {len(titles)}, tokens compared: {real.sum()}, hidden size: {ours.shape[-1]}')
  print(f'max |ours - transformers BertModel| = {difference:.3e} (tolerance {args.tolerance:g})')
  return 0 if difference < args.tolerance else 1


if __name__ == '__main__':
  sys.exit(main())
