import numpy as np
import pytest
import tensorflow as tf

from catalog.span_alignment import find_value_span
from model import features as p
from model import windows
from model.config import ModelConfig


def _run(ckpt, rows, max_seq_length=128, **model_settings):
  spans = [find_value_span(t, v) or (-1, -1) for t, _, v in rows]
  inputs = {'title': tf.constant([r[0] for r in rows]), 'attribute': tf.constant([r[1] for r in rows]),
            'value': tf.constant([r[2] for r in rows]),
            'value_start': tf.constant([s[0] for s in spans], tf.int64),
            'value_end': tf.constant([s[1] for s in spans], tf.int64)}
  model = ModelConfig(checkpoint=ckpt.path, max_seq_length=max_seq_length, **model_settings)
  out = p.transform(inputs, model)
  return {k: (tf.sparse.to_dense(v).numpy() if isinstance(v, tf.SparseTensor) else v.numpy())
          for k, v in out.items()}


def _answer_text(title, out, row):
  first, last = out[p.VALUE_FIRST_TOKEN][row], out[p.VALUE_LAST_TOKEN][row]
  start, end = out[p.TITLE_TOKEN_STARTS][row][first], out[p.TITLE_TOKEN_ENDS][row][last]
  return title.encode()[start:end].decode()


def _windows(ckpt, out, max_seq_length, overlap):
  """The model's sequences for Transform's outputs (model/windows.py)."""
  ragged = lambda k: tf.RaggedTensor.from_tensor(tf.constant(out[k]), padding=0)
  layout = windows.Layout(max_seq_length, overlap, ckpt.special_ids['cls'], ckpt.special_ids['sep'])
  return windows.split(ragged(p.TITLE_TOKEN_IDS), ragged(p.ATTRIBUTE_TOKEN_IDS), layout)


def test_sequence_layout_context_first(ckpt):
  out = _run(ckpt, [('Black Running Shoes', 'Color', 'Black')])
  w = _windows(ckpt, out, 128, 32)
  tokens = [ckpt.vocab[i] for i in w.token_ids.to_list()[0]]
  assert tokens == ['[CLS]', 'black', 'running', 'shoes', '[SEP]', 'color', '[SEP]']
  assert w.segment_ids.to_list()[0] == [0, 0, 0, 0, 0, 1, 1]


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
  assert out[p.SPAN_STATUS][0] == p.ALIGNED
  assert _answer_text(title, out, 0).lower() == ' '.join(value.split()).lower() or \
      ' '.join(_answer_text(title, out, 0).split()).lower() == value.lower()


def test_null_not_found_and_too_long(ckpt):
  long_value = ' '.join(['shoes'] * 6)
  out = _run(ckpt, [('Red Cotton Shirt', 'Brand Name', 'NULL'),
                    ('Red Cotton Shirt', 'Material', 'Leather'),
                    (f'Trailwise {long_value} black', 'Style', long_value)],
             max_seq_length=24, window_overlap=4)
  assert list(out[p.SPAN_STATUS]) == [p.NULL, p.NOT_FOUND, p.TOO_LONG]
  assert list(out[p.VALUE_FIRST_TOKEN]) == [-1, -1, -1] and list(out[p.VALUE_LAST_TOKEN]) == [-1, -1, -1]


def test_a_title_longer_than_a_sequence_is_kept_whole_with_its_value(ckpt):
  long_title = ' '.join(['shoes'] * 40) + ' black'
  out = _run(ckpt, [(long_title, 'Color', 'black')], max_seq_length=24, window_overlap=4)
  assert out[p.SPAN_STATUS][0] == p.ALIGNED
  assert (out[p.VALUE_FIRST_TOKEN][0], out[p.VALUE_LAST_TOKEN][0]) == (40, 40)
  assert (out[p.TITLE_TOKEN_IDS][0] != 0).sum() == 41
  w = _windows(ckpt, out, 24, 4)
  assert len(w.token_ids.to_list()) == 3 and all(len(t) <= 24 for t in w.token_ids.to_list())
  ragged = lambda k: tf.RaggedTensor.from_tensor(tf.constant(out[k]), lengths=[41])
  labels = windows.span_labels(w, ragged(p.TITLE_TOKEN_IDS), ragged(p.TITLE_TOKEN_CONTINUES_WORD),
                               tf.constant(out[p.VALUE_FIRST_TOKEN]), tf.constant(out[p.VALUE_LAST_TOKEN]),
                               tf.constant([True]))
  assert labels['has_answer'].numpy().tolist() == [0, 0, 1]
  last_window = w.token_ids.to_list()[2]
  assert ckpt.vocab[last_window[labels['begin_position'].numpy()[2]]] == 'black'


def test_the_attribute_is_capped(ckpt):
  out = _run(ckpt, [(' '.join(['shoes'] * 40), ' '.join(['color'] * 30), 'NULL')], max_seq_length=32,
             window_overlap=4)
  assert (out[p.ATTRIBUTE_TOKEN_IDS][0] != 0).sum() == ModelConfig().max_attribute_tokens == 16
  w = _windows(ckpt, out, 32, 4)
  assert all(len(t) <= 32 and (np.array(s) == 1).sum() == 16 + 1   # the attribute and its [SEP]
             for t, s in zip(w.token_ids.to_list(), w.segment_ids.to_list()))


def test_the_attribute_cap_is_a_setting(ckpt):
  out = _run(ckpt, [(' '.join(['shoes'] * 40), ' '.join(['color'] * 30), 'NULL')], max_seq_length=32,
             max_attribute_tokens=5, window_overlap=4)
  assert (out[p.ATTRIBUTE_TOKEN_IDS][0] != 0).sum() == 5


@pytest.mark.parametrize('settings', [dict(max_seq_length=24), dict(window_overlap=-1),
                                      dict(max_seq_length=20, max_attribute_tokens=17)])
def test_a_window_that_cannot_move_on_is_refused(settings):
  with pytest.raises(ValueError, match='window_overlap|no room'):
    ModelConfig(**settings)


def test_transforms_preprocessing_fn_is_the_models_features_of_its_custom_config(ckpt):
  import dataclasses
  from components.preprocessing import preprocessing_fn
  inputs = {'title': tf.constant(['Trailwise Running Shoes Black']), 'attribute': tf.constant(['Color'])}
  model = ModelConfig(checkpoint=ckpt.path, max_attribute_tokens=1)
  ours = preprocessing_fn(inputs, {'model': dataclasses.asdict(model), 'code_fingerprint': 'x'})
  theirs = p.transform(inputs, model)
  assert set(ours) == set(theirs)
  for key in ours:
    np.testing.assert_array_equal(tf.sparse.to_dense(ours[key]).numpy(), tf.sparse.to_dense(theirs[key]).numpy())


def test_wordpiece_continuations_are_marked(ckpt):
  titles = tf.constant(['Trailwiseness Running Shoes', 'Black'])
  title_ids = p.tokenizer_for(ckpt).tokenize(titles)
  marked = p.continues_word(title_ids, ckpt).to_list()
  pieces = [[ckpt.vocab[i] for i in row] for row in title_ids.to_list()]
  assert any(token.startswith('##') for token in pieces[0])   # the test's title is split
  assert marked == [[int(token.startswith('##')) for token in row] for row in pieces]


def test_training_windows_label_each_window_that_states_the_value(ckpt):
  """Transform's features through the Trainer's input graph, traced as tf.data traces it:
  the value is aligned to its first occurrence, and the last window states it again."""
  from training import data as training_data
  title = 'black ' + ' '.join(['shoes'] * 40) + ' black'
  model = ModelConfig(checkpoint=ckpt.path, max_seq_length=24, window_overlap=4)
  start, end = find_value_span(title, 'black')
  features = p.transform({'title': tf.constant([title]), 'attribute': tf.constant(['Color']),
                          'value': tf.constant(['black']), 'value_start': tf.constant([start], tf.int64),
                          'value_end': tf.constant([end], tf.int64)}, model)
  layout = windows.Layout(24, 4, ckpt.special_ids['cls'], ckpt.special_ids['sep'])
  for fixed_length in (None, 24):
    inputs = tf.function(lambda f: training_data.training_windows(f, layout, fixed_length))(features)
    assert inputs['has_answer'].numpy().tolist() == [1, 0, 1]
    tokens = inputs['token_ids'].numpy()
    assert [ckpt.vocab[tokens[n, inputs['begin_position'].numpy()[n]]] for n in (0, 2)] == ['black', 'black']
