"""Static against dynamic int8 for the encoder's ONNX graph: does quantizing the
activations with calibrated scales buy encoder speed that dynamic quantization leaves?

The served int8 graph (serving/onnx_encoder.py) quantizes the weights ahead and each batch's
activations at run time. Static quantization (onnxruntime.quantization.quantize_static,
QDQ format, MinMax calibration on AE-pub questions other than the timed ones) fixes the
activation scales ahead, so the per-batch scale computation goes away. This times float32,
the served dynamic int8 and static int8 on the same length-sorted batches of real
questions, tokenised by the export's own endpoint, alternating the graphs in each repeat,
and prints how far each graph's hidden states are from float32's.

  .venv/bin/python -m benchmarks.onnx_quantization --model outputs/experiments/aveqa-random-4ep/reexported
"""
import argparse
import os
import random
import tempfile
import time
from typing import Dict, List, Sequence

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

ATTRIBUTES = ('Brand Name', 'Material', 'Color', 'Category', 'Style', 'Type', 'Size', 'Pattern',
              'Gender', 'Feature')


def length_sorted_batches(feeds: Dict[str, np.ndarray], batch_size: int) -> List[Dict[str, np.ndarray]]:
  """The rows sorted by token count, in batches cut to their longest row (what a
  practitioner's script and our Beam step's length buckets do)."""
  lengths = feeds['padding_mask'].sum(1)
  order = np.argsort(lengths, kind='stable')
  batches = []
  for start in range(0, len(order), batch_size):
    rows = order[start:start + batch_size]
    longest = int(lengths[rows].max())
    batches.append({name: array[rows, :longest] for name, array in feeds.items()})
  return batches


def quantize_static(float32_path: str, output_path: str, calibration: Sequence[Dict[str, np.ndarray]],
                    activations: str = 'QUInt8', op_types=('MatMul',)) -> None:
  """QDQ static int8: per-channel int8 weights, activations of the given QuantType
  (QUInt8: the u8 x s8 products that VNNI multiplies; QInt8: s8 x s8), MinMax scales."""
  from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat,
                                        QuantType)
  from onnxruntime.quantization import quantize_static as ort_quantize_static

  class Batches(CalibrationDataReader):
    def __init__(self):
      self.remaining = iter(calibration)

    def get_next(self):
      return next(self.remaining, None)

  from onnxruntime.quantization.shape_inference import quant_pre_process
  # ONNX's own shape inference does not know the fused contrib ops (Attention,
  # SkipLayerNormalization): without their activations' types the quantizer skips them
  # and only the weights would be quantized. ONNX Runtime's symbolic inference knows them.
  inferred = output_path + '.inferred'
  quant_pre_process(float32_path, inferred, skip_optimization=True, skip_onnx_shape=True,
                    auto_merge=True, guess_output_rank=True)
  ort_quantize_static(inferred, output_path, Batches(), quant_format=QuantFormat.QDQ,
                      op_types_to_quantize=list(op_types), per_channel=True,
                      activation_type=getattr(QuantType, activations), weight_type=QuantType.QInt8,
                      calibrate_method=CalibrationMethod.MinMax)
  os.remove(inferred)


def drift(session, reference: Sequence[np.ndarray], batches) -> Dict[str, float]:
  """Largest absolute difference and mean cosine of the real tokens' hidden states."""
  from serving import onnx_encoder
  worst, cosines = 0.0, []
  for batch, expected in zip(batches, reference):
    got = session.run([onnx_encoder.OUTPUT], batch)[0]
    tokens = batch['padding_mask'].astype(bool)
    a, b = got[tokens], expected[tokens]
    worst = max(worst, float(np.abs(a - b).max()))
    cosines.append(np.sum(a * b, -1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1)))
  return {'max_abs': worst, 'mean_cosine': float(np.concatenate(cosines).mean())}


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--model', required=True, help='an export with ONNX graphs (benchmarks/reexport_model.py)')
  parser.add_argument('--products', type=int, default=400, help='timed titles (x 10 attributes)')
  parser.add_argument('--calibration-products', type=int, default=100)
  parser.add_argument('--batch-size', type=int, default=128)
  parser.add_argument('--repeats', type=int, default=3)
  args = parser.parse_args(argv)

  import tensorflow as tf
  from benchmarks.bulk_inference import spread, titles_pool
  from benchmarks.matmul_rates import cpu_line
  from serving import onnx_serving
  from catalog.questions import question
  from serving.contract import ONNX_ENDPOINTS, ONNX_FILES, ONNX_INPUTS
  from serving import onnx_encoder

  tokenize = onnx_serving.load_zipped(os.path.join(args.model, ONNX_ENDPOINTS)).signatures[ONNX_INPUTS]

  def feeds(titles):
    examples = [question(t, a) for t in titles for a in ATTRIBUTES]
    return {k: np.asarray(v) for k, v in tokenize(examples=tf.constant(examples)).items()}

  titles = list(titles_pool()[0])
  random.Random(0).shuffle(titles)
  calibration = length_sorted_batches(feeds(titles[:args.calibration_products]), 32)
  timed = length_sorted_batches(feeds(titles[args.calibration_products:args.calibration_products + args.products]),
                                args.batch_size)
  questions = sum(len(b['token_ids']) for b in timed)

  def load(path):
    with open(path, 'rb') as f:
      return onnx_serving.session(f.read())

  float32_path = os.path.join(args.model, ONNX_FILES['float32'])
  graphs = {'float32': load(float32_path), 'dynamic int8 (served)': load(os.path.join(args.model, ONNX_FILES['int8']))}
  print(f'{cpu_line()}\nstatic int8 (QDQ, MatMul): MinMax scales from '
        f'{sum(len(b["token_ids"]) for b in calibration)} questions not timed')
  with tempfile.TemporaryDirectory(prefix='aveqa-static-int8-') as folder:
    for activations in ('QUInt8', 'QInt8'):
      path = os.path.join(folder, f'static_{activations}.onnx')
      quantize_static(float32_path, path, calibration, activations)
      graphs[f'static int8 ({activations[1:].lower()})'] = load(path)
  reference = [graphs['float32'].run([onnx_encoder.OUTPUT], b)[0] for b in timed[:8]]
  for name, session in graphs.items():
    d = drift(session, reference, timed[:8])
    print(f'{name:22s} hidden states vs float32: max |diff| {d["max_abs"]:.3f}, mean cosine {d["mean_cosine"]:.4f}')
    session.run([onnx_encoder.OUTPUT], timed[0])   # warm-up
  rates = {name: [] for name in graphs}
  for _ in range(args.repeats):
    for name, session in graphs.items():
      started = time.perf_counter()
      for batch in timed:
        session.run([onnx_encoder.OUTPUT], batch)
      rates[name].append(questions / (time.perf_counter() - started))
  print(f'encoder alone, {questions} questions in length-sorted batches of {args.batch_size}, '
        f'{args.repeats} repeats: questions/s median [min-max]')
  for name, values in rates.items():
    print(f'  {name:22s} {spread(values)}')


if __name__ == '__main__':
  main()
