"""int8 serving of the encoder: its dense layers' matmuls as uint8 x int8 on oneDNN.

Dynamic quantization, as PyTorch's quantize_dynamic does for BERT on CPUs:
- weights: each output column symmetric int8, quantized once, at export;
- activations: each row (token) asymmetric uint8, quantized per batch as it runs;
- the product: TF's oneDNN kernel QuantizedMatMulWithBiasAndDequantize (AVX512-VNNI),
  asked for plain integer products (all of its own scales 1), which it returns exactly
  as float32. The scales and zero points are applied around it:

    x ~ s_x q_x + m_x    per row,    q_x in [0, 255]
    W ~ q_W s_W          per column, q_W in [-127, 127]
    x W ~ s_x (q_x q_W) s_W + m_x (1 q_W) s_W

Everything else (embeddings, attention scores, softmax, layer norms, GELU, AVEQA's
heads) stays float32 and is the keras-hub code itself: while the int8 signature is
traced, each quantized layer's `call` is swapped for the int8 product (int8_matmuls),
so the traced graph is keras-hub's encoder with its matmuls replaced. The kernel is in
TF's x86 CPU builds (oneDNN); the float signatures of the same SavedModel do not need it.
"""
import contextlib
import functools

import keras
import numpy as np
import tensorflow as tf

QMAX_WEIGHT = 127.0
QMAX_ACTIVATION = 255.0


def quantize_columns(kernel):
  """[K, N] float -> (int8 [K, N], float32 scale [N]) with kernel ~ q * scale."""
  kernel = np.asarray(kernel, np.float32)
  scale = np.abs(kernel).max(axis=0) / QMAX_WEIGHT
  scale = np.where(scale > 0, scale, 1.0).astype(np.float32)
  quantized = np.clip(np.round(kernel / scale), -QMAX_WEIGHT, QMAX_WEIGHT).astype(np.int8)
  return quantized, scale


@tf.function(jit_compile=True)
def quantize_rows(x):
  """[M, K] float -> (uint8 [M, K], scale [M, 1], minimum [M, 1]) with x ~ q * scale + minimum.
  XLA-compiled: one fused pass instead of six elementwise kernels."""
  low = tf.reduce_min(x, axis=-1, keepdims=True)
  high = tf.reduce_max(x, axis=-1, keepdims=True)
  scale = tf.maximum((high - low) / QMAX_ACTIVATION, 1e-12)
  return tf.saturate_cast(tf.round((x - low) / scale), tf.uint8), scale, low


def integer_matmul(quantized_x, quantized_kernel):
  """Exact uint8 x int8 products as float32: oneDNN's fused kernel with unit scales."""
  unit = functools.partial(tf.constant, dtype=tf.float32)
  return tf.raw_ops.QuantizedMatMulWithBiasAndDequantize(
      a=tf.bitcast(quantized_x, tf.quint8), b=tf.bitcast(quantized_kernel, tf.qint8),
      bias=tf.zeros(tf.shape(quantized_kernel)[1:], tf.float32),
      min_a=unit(0.0), max_a=unit(QMAX_ACTIVATION), min_b=unit(-QMAX_WEIGHT), max_b=unit(QMAX_WEIGHT),
      min_freezed_output=unit(-1.0), max_freezed_output=unit(1.0),
      Toutput=tf.float32, input_quant_mode='SCALED')


def _contraction(layer):
  """(input dims contracted, output shape after the batch dims) of a Dense or EinsumDense
  whose kernel's leading dims contract the input's trailing ones (as in every BERT layer)."""
  kernel_shape = tuple(layer.kernel.shape)
  if isinstance(layer, keras.layers.EinsumDense):
    inputs, rest = layer.equation.split(',')
    kernel, output = rest.split('->')
    contracted = [c for c in kernel if c not in output]
    free = kernel[len(contracted):]
    if (kernel[:len(contracted)] != ''.join(contracted) or not inputs.endswith(''.join(contracted))
        or not output.endswith(free) or set(free) & set(inputs)):
      raise ValueError(f'int8 serving does not support the einsum {layer.equation} of {layer.name}')
    return len(contracted), kernel_shape[len(contracted):]
  return 1, kernel_shape[1:]


class QuantizedKernel(tf.Module):
  """One layer's int8 kernel, flattened to [K, N], with its per-column scale."""

  def __init__(self, layer):
    super().__init__(name=layer.name)
    if getattr(layer, 'lora_enabled', False):
      raise ValueError(f'int8 serving does not support LoRA layers ({layer.name})')
    self.contracted, self.output_shape = _contraction(layer)
    kernel = keras.ops.convert_to_numpy(layer.kernel)
    k = int(np.prod(kernel.shape[:self.contracted]))
    quantized, scale = quantize_columns(kernel.reshape(k, -1))
    self.kernel = tf.Variable(quantized, trainable=False, name='kernel')
    self.scale = tf.Variable(scale, trainable=False, name='scale')
    # (1 q_W) s_W: what each row's minimum m_x contributes, per output column.
    self.offset_weight = tf.Variable(quantized.astype(np.float32).sum(0) * scale, trainable=False,
                                     name='offset_weight')

  def __call__(self, x, bias=None, activation=None):
    batch_shape = tf.shape(x)[:tf.rank(x) - self.contracted]
    flat = tf.reshape(tf.cast(x, tf.float32), [-1, self.kernel.shape[0]])
    rows = tf.shape(flat)[0]
    flat = tf.pad(flat, [[0, padded_rows(rows) - rows], [0, 0]])
    quantized, scale, low = quantize_rows(flat)
    y = _dequantize(integer_matmul(quantized, self.kernel), scale, low, self.scale, self.offset_weight,
                    bias, activation)
    return tf.reshape(y[:rows], tf.concat([batch_shape, self.output_shape], 0))


def padded_rows(rows):
  """rows rounded up to one of 16 sizes per power of two (at most 1/16 more).

  XLA compiles and keeps one executable per input shape: with the rows (tokens in the
  batch) as they come, a long bulk run meets thousands of shapes (every bundle's last
  batch is short) and memory and compile time grow with the catalog. Rounded, a run
  meets a bounded set. Full batches of 128 questions of up to 31 tokens are not padded."""
  step = tf.bitwise.left_shift(1, tf.maximum(_floor_log2(rows) - 4, 0))
  return (rows + step - 1) // step * step


def _floor_log2(n):
  """floor(log2(n)) for n >= 1, exactly (integers only)."""
  return tf.reduce_sum(tf.cast(n >= tf.bitwise.left_shift(1, tf.range(1, 31)), tf.int32))


@tf.function(jit_compile=True, reduce_retracing=True)
def _dequantize(products, scale, low, column_scale, offset_weight, bias, activation):
  """s_x (q_x q_W) s_W + m_x (1 q_W) s_W + bias, then the activation: one fused pass."""
  y = products * scale * column_scale + low * offset_weight
  if bias is not None:
    y += tf.reshape(tf.cast(bias, y.dtype), [-1])
  return activation(y) if activation is not None else y


def matmul_layers(encoder):
  """The Dense and EinsumDense layers inside the encoder's transformer layers."""
  return [layer for block in encoder.transformer_layers for layer in block._flatten_layers()
          if isinstance(layer, (keras.layers.Dense, keras.layers.EinsumDense))]


class Int8Encoder(tf.Module):
  """The int8 kernels of an encoder (tracked by the SavedModel) and the swap that uses them."""

  def __init__(self, encoder):
    super().__init__(name='int8_encoder')
    self._layers = matmul_layers(encoder)
    self.kernels = [QuantizedKernel(layer) for layer in self._layers]

  @contextlib.contextmanager
  def int8_matmuls(self):
    """Inside the block, each quantized layer computes with its int8 kernel."""
    for layer, kernel in zip(self._layers, self.kernels):
      layer.call = functools.partial(_int8_call, layer, kernel)
    try:
      yield
    finally:
      for layer in self._layers:
        del layer.call


def _int8_call(layer, kernel, inputs, training=None):
  bias = None if layer.bias is None else tf.convert_to_tensor(layer.bias)
  return kernel(inputs, bias, layer.activation)
