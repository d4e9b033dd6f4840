"""The train/eval triples of a pipeline run as text files (AE-pub format), so baselines
outside TFX (the dictionary baseline, the Hugging Face recipe) use exactly our split."""
import os

import tensorflow as tf

from components.triples import SEPARATOR


def read_split(examples_uri, split):
  """[(title, attribute, value)] of one split of a TriplesExampleGen output."""
  files = tf.io.gfile.glob(os.path.join(examples_uri, f'Split-{split}', '*'))
  spec = {k: tf.io.FixedLenFeature([], tf.string) for k in ('title', 'attribute', 'value')}
  rows = []
  for batch in tf.data.TFRecordDataset(files, compression_type='GZIP').batch(2048):
    parsed = tf.io.parse_example(batch, spec)
    rows += list(zip(*[[v.decode('utf-8') for v in parsed[k].numpy()]
                       for k in ('title', 'attribute', 'value')]))
  return sorted(rows)


def write_split(rows, path):
  with open(path, 'w', encoding='utf-8') as f:
    for row in rows:
      f.write(SEPARATOR.join(row) + '\n')
