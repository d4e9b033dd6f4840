import pytest
import tensorflow as tf

from components import preprocessing as p
from components.span_alignment import find_value_span
from model.checkpoint import read_checkpoint
from pipelines import configs


@pytest.fixture(scope='module')
def ckpt(tiny_checkpoint_dir):
  return read_checkpoint(tiny_checkpoint_dir)


def _run(ckpt, rows, max_seq_length=128, **model_settings):
  spans = [find_value_span(t, v) or (-1, -1) for t, _, v in rows]
  inputs = {'title': tf.constant([r[0] for r in rows]), 'attribute': tf.constant([r[1] for r in rows]),
            'value': tf.constant([r[2] for r in rows]),
            'value_start': tf.constant([s[0] for s in spans], tf.int64),
            'value_end': tf.constant([s[1] for s in spans], tf.int64)}
  model = configs.ModelConfig(checkpoint=ckpt.path, max_seq_length=max_seq_length, **model_settings)
  out = p.preprocessing_fn(inputs, {'model': configs.to_dict(model)})
  return {k: (tf.sparse.to_dense(v).numpy() if isinstance(v, tf.SparseTensor) else v.numpy())
          for k, v in out.items()}


def _answer_text(title, out, row):
  b, e = out[p.BEGIN][row], out[p.END][row]
  start, end = out[p.TITLE_TOKEN_STARTS][row][b - 1], out[p.TITLE_TOKEN_ENDS][row][e - 1]
  return title.encode()[start:end].decode()


def test_sequence_layout_context_first(ckpt):
  out = _run(ckpt, [('Black Running Shoes', 'Color', 'Black')])
  ids = ckpt.special_ids
  tokens = [ckpt.vocab[i] for i in out[p.TOKEN_IDS][0]]
  assert tokens == ['[CLS]', 'black', 'running', 'shoes', '[SEP]', 'color', '[SEP]']
  assert list(out[p.SEGMENT_IDS][0]) == [0, 0, 0, 0, 0, 1, 1]
  assert out[p.TOKEN_IDS][0][0] == ids['cls']


@pytest.mark.parametrize('title,value', [
    ('Trailwise Running Shoes Black', 'Trailwise'),     # value at title start
    ('Trailwise Running Shoes Black', 'Black'),         # value at title end
    ('Red Jacket Red Lining', 'Red'),                   # repeated token
    ('Wallet Case PU-Leather Cover', 'PU-Leather'),     # punctuation inside the value
    ("Men's Running Shoes", 'Men'),                     # apostrophe
    ('Café Crème Mug Céramique', 'Céramique'),          # unicode, byte offsets
    ('Water Bottle ROSE  GOLD 750ml', 'rose gold'),     # case and spacing differ
])
def test_spans_map_back_to_the_value(ckpt, title, value):
  out = _run(ckpt, [(title, 'Color', value)])
  assert out[p.SPAN_STATUS][0] == p.ALIGNED and out[p.HAS_ANSWER][0] == 1
  assert _answer_text(title, out, 0).lower() == ' '.join(value.split()).lower() or \
      ' '.join(_answer_text(title, out, 0).split()).lower() == value.lower()


def test_null_not_found_and_truncated(ckpt):
  long_title = ' '.join(['shoes'] * 40) + ' black'
  out = _run(ckpt, [('Red Cotton Shirt', 'Brand Name', 'NULL'),
                    ('Red Cotton Shirt', 'Material', 'Leather'),
                    (long_title, 'Color', 'black')], max_seq_length=24)
  assert list(out[p.SPAN_STATUS]) == [p.NULL, p.NOT_FOUND, p.TRUNCATED]
  assert list(out[p.HAS_ANSWER]) == [0, 0, 0]
  assert list(out[p.BEGIN]) == [0, 0, 0] and list(out[p.END]) == [0, 0, 0]
  assert (out[p.TOKEN_IDS] != 0).sum(axis=1)[2] == 24


def test_attribute_is_capped_and_title_fills_the_rest(ckpt):
  out = _run(ckpt, [(' '.join(['shoes'] * 40), ' '.join(['color'] * 30), 'NULL')], max_seq_length=32)
  segments = out[p.SEGMENT_IDS][0]
  assert len(segments) == 32
  assert (segments == 1).sum() == configs.ModelConfig().max_attribute_tokens + 1   # and their [SEP]
  assert configs.ModelConfig().max_attribute_tokens == 16


def test_the_attribute_cap_is_a_setting(ckpt):
  out = _run(ckpt, [(' '.join(['shoes'] * 40), ' '.join(['color'] * 30), 'NULL')], max_seq_length=32,
             max_attribute_tokens=5)
  segments = out[p.SEGMENT_IDS][0]
  assert len(segments) == 32 and (segments == 1).sum() == 5 + 1
