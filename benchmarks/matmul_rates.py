"""This CPU's matmul rate per precision at the encoder's shapes: what reduced precision
can buy before any model code is written, and the floor of benchmarks/bulk_inference.py.

  .venv/bin/python -m benchmarks.matmul_rates [--repeats 5]

float32 and bfloat16 are tf.matmul (oneDNN); int8 is TF's oneDNN kernel
QuantizedMatMulWithBiasAndDequantize (quint8 activations x qint8 weights, float32 out:
AVX512-VNNI), i.e. the matmul alone, without the cost of quantizing activations.
"""
import argparse
import os
import statistics
import time

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

PRECISIONS = ('float32', 'bfloat16', 'int8')
# MiniLM-L6 (hidden 384, FFN 1536) on a batch of 128 questions of 32 tokens.
SHAPES = {'attention projection': (4096, 384, 384), 'FFN in': (4096, 384, 1536), 'FFN out': (4096, 1536, 384)}


ISA_FLAGS = ('avx512_vnni', 'avx512_bf16', 'amx_tile', 'amx_int8', 'amx_bf16')


def cpu_line() -> str:
  """'CPU: <model> (N cores); <ISA flags>': which runtime is fastest depends on these."""
  with open('/proc/cpuinfo') as f:
    lines = f.read().splitlines()
  model = next((l.split(':', 1)[1].strip() for l in lines if l.startswith('model name')), 'unknown')
  flags = set(next((l.split(':', 1)[1].split() for l in lines if l.startswith('flags')), []))
  has = [flag for flag in ISA_FLAGS if flag in flags]
  return f'CPU: {model} ({os.cpu_count()} cores); {", ".join(has) or "no VNNI/BF16/AMX"}'


def _product(precision, m, k, n):
  import tensorflow as tf
  if precision == 'int8':
    a = tf.cast(tf.random.uniform([m, k], 0, 256, tf.int32), tf.quint8)
    b = tf.cast(tf.random.uniform([k, n], -127, 128, tf.int32), tf.qint8)
    one, zero = tf.constant(1.0), tf.constant(0.0)
    return tf.function(lambda: tf.reduce_sum(tf.raw_ops.QuantizedMatMulWithBiasAndDequantize(
        a=a, b=b, bias=tf.zeros([n]), min_a=zero, max_a=one, min_b=-one, max_b=one,
        min_freezed_output=-one, max_freezed_output=one, Toutput=tf.float32)))
  dtype = {'float32': tf.float32, 'bfloat16': tf.bfloat16}[precision]
  a = tf.cast(tf.random.normal([m, k]), dtype)
  b = tf.cast(tf.random.normal([k, n]), dtype)
  return tf.function(lambda: tf.reduce_sum(tf.cast(tf.matmul(a, b), tf.float32)))


def matmul_gflops(precision, m=4096, k=384, n=1536, repeats=20, trials=3):
  """GFLOP/s of one precision on an m x k x n product, best of `trials`."""
  step = _product(precision, m, k, n)
  step()
  best = 0.0
  for _ in range(trials):
    started = time.perf_counter()
    for _ in range(repeats):
      step().numpy()
    best = max(best, 2 * m * k * n * repeats / (time.perf_counter() - started) / 1e9)
  return best


def main():
  parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument('--repeats', type=int, default=5, help='measurements per cell (median [min-max])')
  args = parser.parse_args()
  rates = {(shape, p): [] for shape in SHAPES for p in PRECISIONS}
  for _ in range(args.repeats):   # interleaved, so background load hits every cell alike
    for shape, (m, k, n) in SHAPES.items():
      for precision in PRECISIONS:
        rates[(shape, precision)].append(matmul_gflops(precision, m, k, n, trials=1))
  print(f'\n{cpu_line()}\n\n| shape (m x k x n) | ' + ' | '.join(f'{p} GFLOP/s' for p in PRECISIONS) + ' |')
  print('|---|' + '---:|' * len(PRECISIONS))
  for shape, (m, k, n) in SHAPES.items():
    cells = [rates[(shape, p)] for p in PRECISIONS]
    print(f'| {shape} ({m} x {k} x {n}) | ' + ' | '.join(
        f'{statistics.median(c):.0f} [{min(c):.0f}-{max(c):.0f}]' for c in cells) + ' |')


if __name__ == '__main__':
  main()
