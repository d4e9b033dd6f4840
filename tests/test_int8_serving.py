"""The int8 serving path: exact integer products, quantization error bounds, the swap."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from model import checkpoint
from serving import int8 as int8_serving


def test_the_onednn_kernel_returns_exact_integer_products():
  rng = np.random.default_rng(0)
  x = rng.integers(0, 256, (37, 96)).astype(np.uint8)
  w = rng.integers(-127, 128, (96, 50)).astype(np.int8)
  products = int8_serving.integer_matmul(tf.constant(x), tf.constant(w)).numpy()
  np.testing.assert_array_equal(products, x.astype(np.int64) @ w.astype(np.int64))


def test_rows_and_columns_quantize_within_half_a_step():
  rng = np.random.default_rng(1)
  x = rng.normal(size=(8, 64)).astype(np.float32) * rng.uniform(0.1, 10, (8, 1)).astype(np.float32)
  q, scale, low = (t.numpy() for t in int8_serving.quantize_rows(tf.constant(x)))
  assert q.dtype == np.uint8 and q.min() == 0 and q.max() == 255   # each row uses its full range
  assert np.all(np.abs(q * scale + low - x) <= scale / 2 + 1e-6)
  w = x.T
  qw, column_scale = int8_serving.quantize_columns(w)
  assert np.abs(qw).max() == 127
  assert np.all(np.abs(qw * column_scale - w) <= column_scale / 2 + 1e-6)


@pytest.mark.parametrize('make_layer, shape', [
    (lambda: keras.layers.Dense(48, activation='gelu'), (3, 5, 32)),
    (lambda: keras.layers.EinsumDense('abc,cde->abde', (None, 4, 8), bias_axes='de'), (3, 5, 32)),
    (lambda: keras.layers.EinsumDense('abcd,cde->abe', (None, 32), bias_axes='e'), (3, 5, 4, 8)),
])
def test_a_quantized_layer_computes_what_the_float_layer_does(make_layer, shape):
  layer = make_layer()
  x = tf.random.stateless_normal(shape, seed=(0, 1))
  full = layer(x).numpy()
  if layer.bias is not None:   # a non-zero bias, so that it is shown to be applied
    layer.bias.assign(tf.random.stateless_normal(layer.bias.shape, seed=(0, 2)))
    full = layer(x).numpy()
  kernel = int8_serving.QuantizedKernel(layer)
  bias = None if layer.bias is None else tf.convert_to_tensor(layer.bias)
  quantized = kernel(x, bias, layer.activation).numpy()
  assert quantized.shape == full.shape
  # 8 bits on each side: errors of about 1% of the output's spread, not more.
  assert np.abs(quantized - full).max() < 0.03 * np.abs(full).max()
  assert not np.allclose(quantized, full, atol=1e-6)   # it did compute in int8


def test_an_einsum_it_cannot_flatten_is_refused():
  layer = keras.layers.EinsumDense('abc,bd->acd', (8, 16))
  layer.build((None, 4, 8))
  with pytest.raises(ValueError, match='does not support the einsum'):
    int8_serving.QuantizedKernel(layer)


def test_the_encoder_computes_in_int8_only_inside_the_block(tiny_checkpoint_dir):
  encoder = checkpoint.load_encoder(checkpoint.read_checkpoint(tiny_checkpoint_dir), dropout=0.0)
  int8_encoder = int8_serving.Int8Encoder(encoder)
  assert len(int8_encoder.kernels) == 6 * encoder.num_layers   # q, k, v, output, FFN in and out
  rng = np.random.default_rng(2)
  inputs = {'token_ids': tf.constant(rng.integers(5, 100, (4, 16)), tf.int32),
            'segment_ids': tf.zeros((4, 16), tf.int32), 'padding_mask': tf.ones((4, 16), tf.int32)}
  full = encoder(inputs)['sequence_output'].numpy()
  with int8_encoder.int8_matmuls():
    quantized = tf.function(lambda x: encoder(x)['sequence_output'])(inputs).numpy()
  cosine = (full * quantized).sum(-1) / np.linalg.norm(full, axis=-1) / np.linalg.norm(quantized, axis=-1)
  assert cosine.min() > 0.99
  assert not np.allclose(quantized, full, atol=1e-5)
  np.testing.assert_array_equal(encoder(inputs)['sequence_output'].numpy(), full)   # float again after it


def test_row_counts_round_up_to_a_bounded_set_of_shapes():
  sizes = [int(int8_serving.padded_rows(tf.constant(n))) for n in range(1, 20000)]
  assert all(n <= size <= n + n // 16 for n, size in enumerate(sizes, start=1))
  assert len(set(sizes)) < 250        # XLA compiles each once, however long the run
  assert all(int(int8_serving.padded_rows(tf.constant(128 * t))) == 128 * t for t in range(1, 32))
