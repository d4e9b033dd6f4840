import glob
import json
import os

import apache_beam as beam
import tensorflow as tf

from catalog import splits, triples
from catalog.ingest import SUMMARY_FILE, write_examples

LINES = [b'Trailwise Running Shoes Black\x01Color\x01Black',
         b'Trailwise Running Shoes Black\x01Color\x01Black',          # duplicate line
         b'Rivanto Sunglasses Metal Frame Silver\x01Frame Color\x01Silver',
         b'Rivanto Sunglasses Metal Frame Silver\x01Material\x01Leather',  # value not in title
         b'Kitchara Knife Set\x01Brand Name\x01NULL',
         b'only two fields\x01Color',
         b'\x01Color\x01Red',
         b'Bad \xff encoding\x01Color\x01Red']


def _run(tmp_path, rule):
  source = tmp_path / 'triples.txt'
  source.write_bytes(b'\n'.join(LINES) + b'\n\n')
  out = str(tmp_path / f'out-{rule.rule}')
  with beam.Pipeline() as pipeline:
    write_examples(pipeline, str(source), rule, out)
  with open(os.path.join(out, SUMMARY_FILE)) as f:
    return str(source), out, json.load(f)


def _attributes(out, split):
  files = glob.glob(os.path.join(out, f'Split-{split}', '*.gz'))
  records = tf.data.TFRecordDataset(files, compression_type='GZIP')
  return sorted(tf.train.Example.FromString(r.numpy()).features.feature['attribute'].bytes_list.value[0].decode()
                for r in records)


def test_zero_shot_split_dedupe_and_quarantine(tmp_path):
  rule = splits.SplitRule('zero_shot', 0, 20, ('Frame Color',))
  source, out, summary = _run(tmp_path, rule)
  assert _attributes(out, 'eval') == ['Frame Color']
  assert _attributes(out, 'train') == ['Brand Name', 'Color', 'Material']   # duplicate dropped
  assert summary['counts'] == {'eval.aligned': 1, 'malformed': 3, 'train.aligned': 1,
                               'train.null': 1, 'train.value_not_in_title': 1}
  with open(glob.glob(os.path.join(out, 'quarantine', '*.jsonl'))[0]) as f:
    reasons = sorted(json.loads(line)['reason'] for line in f)
  assert reasons == ['bad encoding (not UTF-8)', 'empty title', 'wrong field count: 2 instead of 3']
  assert triples.count_split_triples(source, rule, splits.TRAIN) == summary['train_examples'] == 3


def test_random_split_is_deterministic_and_counted_the_same_offline(tmp_path):
  rule = splits.SplitRule('random', 3, 50, ())
  source, out, summary = _run(tmp_path, rule)
  (tmp_path / 'again').mkdir()
  again = _run(tmp_path / 'again', rule)[2]
  assert summary['counts'] == again['counts']
  assert triples.count_split_triples(source, rule, splits.TRAIN) == summary['train_examples']
  assert summary['train_examples'] + summary['eval_examples'] == 4
