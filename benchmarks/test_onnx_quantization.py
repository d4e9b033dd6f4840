import numpy as np

from benchmarks import onnx_quantization


def _feeds(lengths, width=12):
  padding_mask = np.array([[1] * n + [0] * (width - n) for n in lengths], np.int32)
  token_ids = (padding_mask * (np.arange(len(lengths))[:, None] + 10)).astype(np.int32)   # row i holds i + 10
  return {'token_ids': token_ids, 'segment_ids': np.zeros_like(token_ids), 'padding_mask': padding_mask}


def test_batches_are_length_sorted_and_cut_to_their_longest_row():
  batches = onnx_quantization.length_sorted_batches(_feeds([9, 3, 12, 5, 4]), batch_size=2)
  assert [b['token_ids'].shape for b in batches] == [(2, 4), (2, 9), (1, 12)]
  assert [int(row[0]) for b in batches for row in b['token_ids']] == [11, 14, 13, 10, 12]
  assert all(b['padding_mask'][:, -1].any() for b in batches)   # no all-padding column kept


def test_static_int8_of_the_encoder_graph_stays_close_to_float32(tmp_path):
  import onnx
  from serving.onnx_serving import session
  from model import checkpoint as checkpoints
  from serving import onnx_encoder
  from tests import tiny_bert
  checkpoint = checkpoints.read_checkpoint(tiny_bert.make_checkpoint(
      str(tmp_path / 'checkpoint'), hidden=64, layers=2, heads=4, intermediate=128))
  encoder = checkpoints.load_encoder(checkpoint, dropout=0.0, name='encoder')
  float32_path, static_path = str(tmp_path / 'float32.onnx'), str(tmp_path / 'static.onnx')
  onnx_encoder.export(encoder, checkpoint.approximate_gelu, float32_path, str(tmp_path / 'dynamic.onnx'))
  rng = np.random.default_rng(0)
  lengths = rng.integers(4, 20, 64)
  feeds = _feeds(lengths, 20)
  feeds['token_ids'] = np.where(feeds['padding_mask'] == 1,
                                rng.integers(5, len(checkpoint.vocab), feeds['token_ids'].shape), 0).astype(np.int32)
  batches = onnx_quantization.length_sorted_batches(feeds, 16)
  onnx_quantization.quantize_static(float32_path, static_path, batches[:2])
  graph = onnx.load(static_path).graph
  weights = {init.name for init in graph.initializer}
  # activations quantized, not only the weights: every MatMul reads a dequantized activation
  matmuls = [n for n in graph.node if n.op_type == 'MatMul']
  producers = {out: n for n in graph.node for out in n.output}
  assert matmuls and all(producers[n.input[0]].op_type == 'DequantizeLinear'
                         and producers[producers[n.input[0]].input[0]].op_type == 'QuantizeLinear'
                         for n in matmuls), [n.name for n in matmuls]
  assert not weights & {n.input[0] for n in matmuls}
  with open(float32_path, 'rb') as f:
    float32 = session(f.read())
  reference = [float32.run([onnx_encoder.OUTPUT], b)[0] for b in batches]
  with open(static_path, 'rb') as f:
    d = onnx_quantization.drift(session(f.read()), reference, batches)
  assert 0 < d['max_abs'] < 1.0 and d['mean_cosine'] > 0.99
