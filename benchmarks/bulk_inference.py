"""Catalog-scale bulk inference: our Beam step against Hugging Face's QA pipeline.

  .venv/bin/python benchmarks/bulk_inference.py --experiment aveqa-random

Builds a synthetic catalog (--products rows, product titles drawn from the AE-pub files
when they are there, else from the embedded sample; none of the --attributes known, so
products x attributes questions), then, --repeats times, in this order:
  ours     the pipeline's catalog step as the components run it (CatalogQuestionGen's
           Beam part, CatalogBulkInferrer's, CatalogWriter's), with the pipeline's default
           Beam args (DirectRunner; the inference step in one process), per precision;
  ours, in-process  the same SavedModel signature called directly on the same questions
           (benchmarks' child process, no Beam; model load and one warm-up batch not
           timed, as theirs): the model runtime alone, to tell it apart from Beam's cost;
  theirs   transformers pipeline("question-answering") on CPU PyTorch, same checkpoint
           (its QA head untrained: a timing run), same batch size, in its own environment
           (benchmarks/install_comparison.sh).
Questions/s of ours count the whole step (read, validate, infer, join, write Parquet);
theirs only the pipeline call. Peak RSS: the sum over the process tree, sampled.
The floor: FLOPs per question at the questions' mean token length over this CPU's
measured matmul rate, per precision. Exact-match F1 of each precision on the eval split
of --experiment (or --eval-triples). --memory-rows runs ours alone on growing catalogs
to show that memory stays flat. The table comes last.
"""
import argparse
import glob
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

import numpy as np  # noqa: E402
import psutil  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

ATTRIBUTES = ('Brand Name', 'Material', 'Color', 'Category', 'Gender', 'Item Type', 'Style',
              'Model Number', 'Sport Type', 'Size')
AE_PUB = os.path.join(os.path.dirname(REPO), 'shared', 'data', 'ae-pub', 'opentags.*')


class PeakRss:
  """Peak resident memory of this process's children (all descendants), sampled every
  0.2 s: each run below is a child process, so its figure is its own, from a cold start."""

  def __enter__(self):
    self.peak, self._stop = 0, threading.Event()
    self._thread = threading.Thread(target=self._sample, daemon=True)
    self._thread.start()
    return self

  def _sample(self):
    me = psutil.Process()
    while not self._stop.is_set():
      total = 0
      for process in me.children(recursive=True):
        try:
          total += process.memory_info().rss
        except psutil.Error:
          pass
      self.peak = max(self.peak, total)
      self._stop.wait(0.2)

  def __exit__(self, *exc):
    self._stop.set()
    self._thread.join()

  @property
  def mb(self):
    return self.peak / 2**20


def titles_pool():
  """Distinct real titles (AE-pub, read in place) or the embedded sample's."""
  from components import triples
  from pipelines.configs import SAMPLE_TRIPLES
  pattern = AE_PUB if glob.glob(AE_PUB) else SAMPLE_TRIPLES
  titles = sorted({parsed.title for path in sorted(glob.glob(pattern))
                   for _, parsed, _ in triples.read_triples(path) if not isinstance(parsed, str)})
  return titles, pattern


def write_catalog(folder, products, titles, seed=0):
  rng = np.random.default_rng(seed)
  chosen = [titles[i] for i in rng.integers(0, len(titles), products)]
  os.makedirs(folder, exist_ok=True)
  pq.write_table(pa.table({'product_id': [f'P{i:08d}' for i in range(products)], 'title': chosen}),
                 os.path.join(folder, 'catalog.parquet'), row_group_size=10000)
  return chosen


def in_child(mode, **spec):
  """One of CHILD_MODES in a fresh child process (a cold start); its result plus peak RSS."""
  with PeakRss() as rss:
    completed = subprocess.run([sys.executable, os.path.abspath(__file__), mode, json.dumps(spec)],
                               check=True, capture_output=True, text=True)
  result = json.loads(completed.stdout.strip().splitlines()[-1])
  result['peak_rss_mb'] = rss.mb
  return result


def run_ours(catalog_folder, model_dir, attributes, precision, batch_size, bucket_size, work):
  return in_child('--one-run', catalog_folder=catalog_folder, model_dir=model_dir, attributes=attributes,
                  precision=precision, batch_size=batch_size, bucket_size=bucket_size, work=work)


def run_ours_here(catalog_folder, model_dir, attributes, precision, batch_size, bucket_size, work):
  """The pipeline's catalog steps (pipelines/pipeline.create_enrichment_pipeline: the
  components the training pipeline runs, with the pipeline's default Beam args), timed
  per step from the run's own step lines; returns counts and seconds."""
  import logging
  from pipelines import configs, console, runners
  config = configs.with_overrides(configs.PipelineConfig(
      pipeline_root=os.path.join(work, 'pipeline_root'), metadata_path=os.path.join(work, 'metadata.sqlite')), {
      'data.catalog': os.path.join(catalog_folder, '*.parquet'), 'data.attributes': tuple(attributes),
      'inference.precision': precision, 'inference.batch_size': batch_size,
      'inference.bucket_size': bucket_size})
  finished = {}

  class StepTimes(logging.Handler):
    def emit(self, record):
      if record.msg == console.STEP_FINISHED:
        finished[record.args[0]] = time.perf_counter()

  started = time.perf_counter()
  logging.getLogger('absl').addHandler(StepTimes())
  summary = runners.run_enrichment(config, model_dir).summary
  questions_done = finished['CatalogQuestionGen']
  seconds = {'questions': questions_done - started,
             'inference': finished['CatalogBulkInferrer'] - questions_done,
             'total': time.perf_counter() - started}
  return {'products': summary['rows_out'], 'questions': sum(summary['questions'].values()),
          'seconds': seconds}


def run_in_process(questions_file, model_dir, precision, batch_size):
  return in_child('--in-process', questions_file=questions_file, model_dir=model_dir,
                  precision=precision, batch_size=batch_size)


def run_in_process_here(questions_file, model_dir, precision, batch_size):
  """The serving signature on every question, sorted by length and batched
  (components/inference.predict), timed after a warm-up batch."""
  from components import inference
  with open(questions_file, encoding='utf-8') as f:
    questions = [json.loads(line) for line in f]
  titles, attributes = [q['title'] for q in questions], [q['attribute'] for q in questions]
  model = inference.load(model_dir)
  inference.predict(model, titles[:batch_size], attributes[:batch_size], batch_size, precision)
  started = time.perf_counter()
  inference.predict(model, titles, attributes, batch_size, precision)
  seconds = time.perf_counter() - started
  return {'questions': len(questions), 'seconds': seconds, 'questions_per_second': len(questions) / seconds}


def run_theirs(questions_file, checkpoint_dir, batch_size):
  python = os.path.join(REPO, '.venv-comparison', 'bin', 'python')
  if not os.path.exists(python):
    raise SystemExit('No comparison environment: run benchmarks/install_comparison.sh first')
  with PeakRss() as rss:
    completed = subprocess.run(
        [python, os.path.join(REPO, 'benchmarks', 'hf_qa_pipeline.py'), '--checkpoint', checkpoint_dir,
         '--questions', questions_file, '--batch-size', str(batch_size)],
        check=True, capture_output=True, text=True, env=dict(os.environ, HF_HUB_OFFLINE='1'))
  result = json.loads(completed.stdout.strip().splitlines()[-1])
  result['peak_rss_mb'] = rss.mb
  return result


def mean_tokens(checkpoint, titles, attributes, max_seq_length=128):
  """Mean sequence length of the questions' windows ([CLS] title [SEP] attribute [SEP])."""
  import tensorflow as tf
  from components import preprocessing
  from model import windows
  from pipelines import configs
  settings = configs.ModelConfig(max_seq_length=max_seq_length)
  layout = windows.Layout(max_seq_length, settings.window_overlap, checkpoint.special_ids['cls'],
                          checkpoint.special_ids['sep'])
  lengths = []
  for attribute in attributes:
    title_ids, attribute_ids, _, _ = preprocessing.tokenize_questions(
        tf.constant(titles), tf.constant([attribute] * len(titles)), checkpoint,
        settings.max_attribute_tokens)
    lengths.extend(windows.split(title_ids, attribute_ids, layout).token_ids.row_lengths().numpy())
  return float(np.mean(lengths))


def flops_per_question(config, length, top_k=5):
  """Multiply-adds x 2 of the encoder and AVEQA's heads on one sequence of `length` tokens."""
  h, i, layers = config['hidden_size'], config['intermediate_size'], config['num_hidden_layers']
  per_layer = 2 * length * (4 * h * h + 2 * h * i) + 2 * 2 * length * length * h
  heads = 2 * length * h + top_k * length * 2 * (2 * h * h + h) + 2 * h * 2
  return layers * per_layer + heads


def f1_by_precision(model_dir, experiment, results_dir, eval_triples, precisions):
  """Exact-match F1 of each precision, and of float32 (the full-precision reference)."""
  from components import splits, triples
  from components.offline_evaluation import evaluate_model
  if eval_triples:
    rows = [(p.title, p.attribute, p.value) for path in sorted(glob.glob(eval_triples))
            for _, p, _ in triples.read_triples(path) if not isinstance(p, str)]
  else:
    with open(os.path.join(results_dir, f'{experiment}.json')) as f:
      rows = triples.read_split(json.load(f)['examples_dir'], splits.EVAL)
  if not rows:
    raise SystemExit(f'no labelled triples in {eval_triples or experiment} to score F1 on')
  titles, attributes, gold = map(list, zip(*rows))
  return {precision: evaluate_model(model_dir, titles, attributes, gold, 256, precision)['overall']['f1']
          for precision in sorted({'float32', *precisions})}, len(rows)


def spread(values, fmt='{:.1f}'):
  if len(values) == 1:
    return fmt.format(values[0])
  return f'{fmt.format(statistics.median(values))} [{fmt.format(min(values))}-{fmt.format(max(values))}]'


CHILD_MODES = {'--one-run': run_ours_here, '--in-process': run_in_process_here}


def main():
  if len(sys.argv) == 3 and sys.argv[1] in CHILD_MODES:   # a child of in_child
    print(json.dumps(CHILD_MODES[sys.argv[1]](**json.loads(sys.argv[2]))))
    return
  from components.serving_contract import PRECISIONS
  from pipelines.run_outputs import newest_pushed_model
  parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument('--products', type=int, default=10000)
  parser.add_argument('--attributes', type=int, default=10, help=f'the first N of {ATTRIBUTES}')
  parser.add_argument('--batch-size', type=int, default=128, help='ours and theirs alike')
  parser.add_argument('--bucket-size', type=int, default=8192)
  parser.add_argument('--repeats', type=int, default=3)
  parser.add_argument('--precisions', nargs='+', default=list(PRECISIONS), choices=PRECISIONS)
  parser.add_argument('--skip-theirs', action='store_true')
  parser.add_argument('--memory-rows', type=int, nargs='*', default=[10000, 100000],
                      help='catalog sizes for the memory runs (ours, in the fastest precision asked: int8, bfloat16, float32)')
  parser.add_argument('--memory-attributes', type=int, default=10)
  parser.add_argument('--experiment', default='aveqa-random',
                      help='a benchmarks/experiments.py run: its model and eval split (F1)')
  parser.add_argument('--results-dir', default=os.path.join(REPO, 'outputs', 'experiments'))
  parser.add_argument('--model', default=None, help='a pushed serving model dir (default: the experiment\'s)')
  parser.add_argument('--eval-triples', default=None, help='score F1 here instead of the experiment\'s eval split')
  parser.add_argument('--work-dir', default=None)
  args = parser.parse_args()

  from model.checkpoint import read_checkpoint
  model_dir = args.model or newest_pushed_model(
      os.path.join(args.results_dir, args.experiment, 'serving_model'))
  checkpoint = read_checkpoint(None)
  attributes = list(ATTRIBUTES[:args.attributes])
  work = args.work_dir or tempfile.mkdtemp(prefix='bulk-inference-')
  titles, source = titles_pool()
  chosen = write_catalog(os.path.join(work, 'catalog'), args.products, titles)
  questions_file = os.path.join(work, 'questions.jsonl')
  with open(questions_file, 'w', encoding='utf-8') as f:
    for title in chosen:
      for attribute in attributes:
        f.write(json.dumps({'title': title, 'attribute': attribute}) + '\n')
  print(f'model {model_dir}\ncatalog: {args.products} products x {len(attributes)} attributes, '
        f'titles from {source}; batch {args.batch_size}; cpus {os.cpu_count()}; work dir {work}')

  runs = {p: [] for p in args.precisions}
  in_process = {p: [] for p in args.precisions}
  theirs = []
  for repeat in range(args.repeats):
    for precision in args.precisions:
      result = run_ours(os.path.join(work, 'catalog'), model_dir, attributes, precision,
                        args.batch_size, args.bucket_size, os.path.join(work, f'ours-{precision}-{repeat}'))
      runs[precision].append(result)
      print(f'ours {precision} #{repeat}: {json.dumps(result)}', flush=True)
      in_process[precision].append(run_in_process(questions_file, model_dir, precision, args.batch_size))
      print(f'ours in-process {precision} #{repeat}: {json.dumps(in_process[precision][-1])}', flush=True)
    if not args.skip_theirs:
      theirs.append(run_theirs(questions_file, checkpoint.path, args.batch_size))
      print(f'theirs #{repeat}: {json.dumps(theirs[-1])}', flush=True)

  memory = []
  memory_precision = next(p for p in ('int8', 'bfloat16', 'float32') if p in args.precisions)
  memory_attributes = list(ATTRIBUTES[:args.memory_attributes])
  for rows in args.memory_rows:
    folder = os.path.join(work, f'memory-{rows}')
    write_catalog(os.path.join(folder, 'catalog'), rows, titles, seed=1)
    result = run_ours(os.path.join(folder, 'catalog'), model_dir, memory_attributes, memory_precision,
                      args.batch_size, args.bucket_size, folder)
    memory.append((rows, result))
    print(f'memory {rows} rows: {json.dumps(result)}', flush=True)

  length = mean_tokens(checkpoint, chosen, attributes)
  flops = flops_per_question(checkpoint.config, length)
  from benchmarks.matmul_rates import matmul_gflops
  rates = {p: matmul_gflops(p) for p in args.precisions}
  f1, eval_count = f1_by_precision(model_dir, args.experiment, args.results_dir, args.eval_triples,
                                   args.precisions)

  questions = len(chosen) * len(attributes)
  print(f'\n## Bulk inference, {args.products} products x {len(attributes)} attributes = {questions} '
        f'questions, batch {args.batch_size}, {args.repeats} repeat(s): median [min-max]\n')
  print('| method | precision | questions/s | products/s | inference-only questions/s | peak RSS MB | '
        f'exact-match F1 ({eval_count} eval triples) |')
  print('|---|---|---|---|---|---|---|')
  for precision, results in runs.items():
    print(f"| ours: Beam catalog step (read, infer, join, write Parquet) | {precision} "
          f"| {spread([r['questions'] / r['seconds']['total'] for r in results])} "
          f"| {spread([r['products'] / r['seconds']['total'] for r in results])} "
          f"| {spread([r['questions'] / r['seconds']['inference'] for r in results])} "
          f"| {spread([r['peak_rss_mb'] for r in results], '{:.0f}')} | {100 * f1[precision]:.2f} |")
  for precision, results in in_process.items():
    print(f"| ours, in-process: the serving signature called directly (no Beam) | {precision} "
          f"| {spread([r['questions_per_second'] for r in results])} "
          f"| {spread([r['questions_per_second'] / len(attributes) for r in results])} "
          f"| (same) | {spread([r['peak_rss_mb'] for r in results], '{:.0f}')} | {100 * f1[precision]:.2f} |")
  if theirs:
    print(f"| Hugging Face pipeline('question-answering'), torch {theirs[0].get('torch_threads')} threads "
          f"| float32 | {spread([t['questions_per_second'] for t in theirs])} "
          f"| {spread([t['questions_per_second'] / len(attributes) for t in theirs])} "
          f"| (same) | {spread([t['peak_rss_mb'] for t in theirs], '{:.0f}')} | (untrained head) |")
  for precision in args.precisions:
    print(f'| floor: {flops / 1e9:.3f} GFLOP/question at {length:.1f} tokens / {rates[precision]:.0f} '
          f'GFLOP/s matmul | {precision} | {rates[precision] * 1e9 / flops:.1f} | '
          f'{rates[precision] * 1e9 / flops / len(attributes):.1f} | | | |')
  if theirs:
    base = statistics.median(t['questions_per_second'] for t in theirs)
    for precision, results in runs.items():
      ours = statistics.median(r['questions'] / r['seconds']['total'] for r in results)
      alone = statistics.median(r['questions_per_second'] for r in in_process[precision])
      print(f'\nours {precision} / Hugging Face: {ours / base:.2f}x (whole step vs pipeline call), '
            f'{alone / base:.2f}x (in-process vs pipeline call); F1 {100 * f1[precision]:.2f}, '
            f'{100 * (f1[precision] - f1["float32"]):+.2f} vs float32')
  if memory:
    print(f'\n## Peak RSS as the catalog grows (ours, {memory_precision}, {len(memory_attributes)} attributes)\n')
    print('| rows | questions | seconds | peak RSS MB |\n|---|---|---|---|')
    for rows, result in memory:
      print(f"| {rows} | {result['questions']} | {result['seconds']['total']:.0f} | {result['peak_rss_mb']:.0f} |")


if __name__ == '__main__':
  main()
