"""What the gate chooses under --runtime auto --precision auto for a trained model: its
eval-split F1 in TensorFlow float32 and, on x86 CPUs, ONNX Runtime int8, and the serving
chosen (evaluation/gate.choose_serving, serving/serving_choice.py). Prints one JSON object.

  .venv/bin/python -m benchmarks.serving_choice --pipeline-root runs/desc-neg/pipeline_root \
      --model runs/desc-neg/reexported
"""
import argparse
import json
import time


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument('--pipeline-root', required=True, help='its newest TriplesExampleGen eval split is scored')
  parser.add_argument('--model', required=True, help='a serving model folder (with its ONNX graphs)')
  parser.add_argument('--batch-size', type=int, default=64)
  args = parser.parse_args(argv)
  from benchmarks.experiments import examples_dir
  from benchmarks.matmul_rates import cpu_line
  from catalog import splits, triples
  from evaluation import gate
  titles, attributes, gold = map(list, zip(*triples.read_split(examples_dir(args.pipeline_root), splits.EVAL)))
  started = time.perf_counter()
  chosen, f1, _, _ = gate.choose_serving(args.model, titles, attributes, gold, args.batch_size)
  print(cpu_line())
  print(json.dumps({'eval_triples': len(titles), 'f1': {' '.join(k): round(100 * v, 2) for k, v in f1.items()},
                    'chosen': chosen._asdict(), 'seconds': round(time.perf_counter() - started, 1)}, indent=1))


if __name__ == '__main__':
  main()
