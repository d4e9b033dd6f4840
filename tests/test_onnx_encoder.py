"""The encoder's ONNX graph (serving/onnx_encoder.py): fused by ONNX Runtime's optimizer and
equal to the Keras encoder it was written from."""
import json
import os

import numpy as np
import pytest

from model import checkpoint as checkpoints
from serving import onnx_encoder
from tests import tiny_bert


def _inputs(vocab_size, rows=6, length=40, seed=0):
  """Questions of different lengths, padded at the end as model/windows.py pads them."""
  rng = np.random.default_rng(seed)
  token_ids = rng.integers(5, vocab_size, (rows, length)).astype(np.int32)
  segment_ids = np.zeros_like(token_ids)
  segment_ids[:, length // 2:] = 1
  padding_mask = np.ones_like(token_ids)
  for row, used in enumerate(np.linspace(length // 3, length, rows).astype(int)):
    token_ids[row, used:] = segment_ids[row, used:] = padding_mask[row, used:] = 0
  return {'token_ids': token_ids, 'segment_ids': segment_ids, 'padding_mask': padding_mask}


def _export(checkpoint, tmp_path):
  encoder = checkpoints.load_encoder(checkpoint, dropout=0.0, name='encoder')
  paths = str(tmp_path / 'float32.onnx'), str(tmp_path / 'int8.onnx')
  fused = onnx_encoder.export(encoder, checkpoint.approximate_gelu, *paths)
  return encoder, fused, paths


def _run(path, inputs):
  from serving.onnx_serving import session
  with open(path, 'rb') as f:
    return session(f.read()).run([onnx_encoder.OUTPUT], inputs)[0]


@pytest.mark.parametrize('hidden_act', ['gelu', 'gelu_new'])
def test_the_graph_is_fused_and_computes_as_the_keras_encoder(tmp_path, hidden_act):
  path = tiny_bert.make_checkpoint(str(tmp_path / 'checkpoint'), hidden=64, layers=3, heads=4,
                                   intermediate=128)
  with open(os.path.join(path, 'config.json')) as f:
    config = json.load(f)
  config['hidden_act'] = hidden_act   # the exact and the tanh GELU are fused by different rules
  with open(os.path.join(path, 'config.json'), 'w') as f:
    json.dump(config, f)
  checkpoint = checkpoints.read_checkpoint(path)
  encoder, fused, (float32_path, _) = _export(checkpoint, tmp_path)
  assert onnx_encoder.missing_fusions(fused, 3, checkpoint.approximate_gelu) == []
  inputs = _inputs(len(checkpoint.vocab))
  expected = encoder(inputs, training=False)['sequence_output'].numpy()
  tokens = inputs['padding_mask'].astype(bool)   # padding positions are never read
  np.testing.assert_allclose(_run(float32_path, inputs)[tokens], expected[tokens], atol=1e-4)


def test_the_packaged_checkpoint_exports_fused_and_its_int8_graph_is_quantized(tmp_path):
  import onnx
  checkpoint = checkpoints.read_checkpoint()
  encoder, fused, (float32_path, int8_path) = _export(checkpoint, tmp_path)
  layers = checkpoint.config['num_hidden_layers']
  assert onnx_encoder.missing_fusions(fused, layers, checkpoint.approximate_gelu) == []
  assert fused['Attention'] == layers
  inputs = _inputs(len(checkpoint.vocab))
  expected = encoder(inputs, training=False)['sequence_output'].numpy()
  tokens = inputs['padding_mask'].astype(bool)
  np.testing.assert_allclose(_run(float32_path, inputs)[tokens], expected[tokens], atol=1e-4)
  ops = {node.op_type for node in onnx.load(int8_path).graph.node}
  assert {'DynamicQuantizeMatMul', 'MatMulInteger', 'QAttention'} & ops, ops
  int8 = _run(int8_path, inputs)[tokens]
  # Close to float32 (on random tokens; F1 is measured in benchmarks/), but not equal: it
  # did compute in 8 bits.
  cosine = np.sum(int8 * expected[tokens], -1) / np.linalg.norm(int8, axis=-1) / np.linalg.norm(expected[tokens], axis=-1)
  assert cosine.mean() > 0.98 and cosine.min() > 0.9
  assert not np.allclose(int8, expected[tokens], atol=1e-3)


def _windows(checkpoint, length=40):
  """Windows as model/windows.py builds them, of every kind the span search meets: titles
  longer than the end head's reach, titles of fewer tokens than the begins searched, one
  window without a title token, and padding."""
  ids = checkpoint.special_ids
  rng = np.random.default_rng(1)
  rows = []
  for title, attribute in ((30, 4), (length - 5, 2), (3, 3), (1, 2), (0, 3), (12, 20), (20, 6)):
    tokens = [ids['cls'], *rng.integers(5, len(checkpoint.vocab), title), ids['sep'],
              *rng.integers(5, len(checkpoint.vocab), attribute), ids['sep']][:length]
    rows.append((tokens, title + 2))
  inputs = {name: np.zeros((len(rows), length), np.int32) for name in onnx_encoder.INPUTS}
  for row, (tokens, first_segment) in enumerate(rows):
    inputs['token_ids'][row, :len(tokens)] = tokens
    inputs['segment_ids'][row, first_segment:len(tokens)] = 1
    inputs['padding_mask'][row, :len(tokens)] = 1
  return inputs


@pytest.mark.parametrize('beta', [1.0, 0.0])
def test_the_served_graph_searches_spans_as_the_model_does(ckpt, tmp_path, beta):
  """The heads and the span search in the ONNX graph answer as AveqaModel.span_search on
  the same windows, and the model's decisions taken on them equal its own, null answer
  (beta = 0) included; int8 leaves the heads float32."""
  import onnx
  import tensorflow as tf
  from model import aveqa
  from serving import onnx_spans
  from tests.model_settings import aveqa_config
  model = aveqa.build_model(ckpt, aveqa_config(alpha=0, beta=beta, max_answer_tokens=4, top_k_begins=5))
  paths = str(tmp_path / 'float32.onnx'), str(tmp_path / 'int8.onnx')
  onnx_encoder.export(model.encoder, ckpt.approximate_gelu, *paths, search=onnx_spans.of_model(model))
  inputs = _windows(ckpt)
  expected = {k: v.numpy() for k, v in model.span_search(inputs, model.encode(inputs)).items()}
  from serving.onnx_serving import session
  with open(paths[0], 'rb') as f:
    served = dict(zip(onnx_spans.OUTPUTS, session(f.read()).run(list(onnx_spans.OUTPUTS), inputs)))
  assert served['begin'].tolist() == expected['begin'].tolist()
  assert served['end'].tolist() == expected['end'].tolist()
  assert (served['end'] - served['begin'] < 4).all() and (served['end'] >= served['begin']).all()
  assert served['begin'][4] == served['end'][4] == 0   # the window without a title token
  for key in ('null_log_prob', 'no_answer_logits'):
    np.testing.assert_allclose(served[key], expected[key], atol=1e-4, err_msg=key)
  found = expected['log_prob'] > -1e8
  np.testing.assert_allclose(served['log_prob'][found], expected['log_prob'][found], atol=1e-4)
  decided = model.predict_spans(inputs, {k: tf.constant(v) for k, v in served.items()})
  for key, value in model.predict_spans(inputs).items():
    np.testing.assert_allclose(np.asarray(decided[key], np.float64), np.asarray(value, np.float64),
                               atol=1e-4, err_msg=key)
  int8 = onnx.load(paths[1]).graph.node
  heads = [node for node in int8 if node.name.startswith(onnx_spans.SCOPE)]
  assert heads and not [node.name for node in heads if 'Integer' in node.op_type or 'Quantize' in node.op_type]
  assert [node for node in int8 if 'Quantize' in node.op_type or 'Integer' in node.op_type]
