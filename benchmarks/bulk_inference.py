"""Catalog-scale bulk inference: our Beam step against Hugging Face's QA pipeline.

  .venv/bin/python -m benchmarks.bulk_inference --experiment aveqa-random

Builds a synthetic catalog (--products rows, product titles drawn from the AE-pub files
when they are there, else from the embedded sample; none of the --attributes known, so
products x attributes questions), then, --repeats times, in this order:
  ours     the pipeline's catalog step as the components run it (CatalogQuestionGen's
           Beam part, CatalogBulkInferrer's, CatalogWriter's), with the pipeline's default
           Beam args (DirectRunner; the inference step in one process), per serving
           (--servings runtime:precision, e.g. tensorflow:int8 onnx:int8);
  ours, in-process  the same served model called directly on the same questions
           (benchmarks' child process, no Beam; model load and one warm-up batch not
           timed, as theirs): the model runtime alone, to tell it apart from Beam's cost;
  theirs   transformers pipeline("question-answering") on CPU PyTorch, same checkpoint
           (its QA head untrained: a timing run), same batch size, in its own environment
           (benchmarks/install_comparison.sh);
  a practitioner's ONNX Runtime script  the same checkpoint exported by torch.onnx,
           fused by ONNX Runtime's BERT optimizer, int8 dynamic quantization, length-
           sorted batches, argmax decoding, tokenization included (benchmarks/ort_practitioner.py,
           in the comparison environment); --script-sort-by tokens also runs it with batches
           sorted by token count, as ours are, rather than by the title's characters.
Questions/s of ours count the whole step (read, validate, infer, join, write Parquet);
theirs only the pipeline call. Ours also runs on a --startup-products catalog each repeat:
the two sizes split the whole step's time into a fixed start-up and a steady-state rate
(what a large catalog gets). CPU-seconds per 1M questions (and per 1M filled values, ours):
the child process's user and system time, start included. Titles are distinct while the
pool allows; the header counts rows that repeat a title (the step asks a repeated text
once). --incremental-rows runs ours twice with --incremental on one catalog: the second
run asks nothing. Peak RSS: the sum over the process tree, sampled.
The floor: FLOPs per question at the questions' mean token length over this CPU's
measured matmul rate, per precision. Exact-match F1 of each precision on the eval split
of --experiment (or --eval-triples). --memory-rows runs ours alone on growing catalogs
to show that memory stays flat. A run of ours that does not finish (a crash) is counted,
not fatal, and its signal and stderr are printed: with --repeats 10 --skip-theirs
--skip-in-process --memory-rows --skip-f1 this is the crash check. --other-model times a second pushed model (SUOpenTag)
in the same run, on the same catalog. The table comes last.
"""
import argparse
import glob
import json
import os
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
import psutil  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

ATTRIBUTES = ('Brand Name', 'Material', 'Color', 'Category', 'Gender', 'Item Type', 'Style',
              'Model Number', 'Sport Type', 'Size')
REFERENCE = 'tensorflow:float32'
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
  from catalog import triples
  from catalog.config import SAMPLE_TRIPLES
  pattern = AE_PUB if glob.glob(AE_PUB) else SAMPLE_TRIPLES
  titles = sorted({parsed.title for path in sorted(glob.glob(pattern))
                   for _, parsed, _ in triples.read_triples(path) if not isinstance(parsed, str)})
  return titles, pattern


def write_catalog(folder, products, titles, seed=0):
  """products rows with distinct titles while the pool has enough (else some repeat: the
  caller counts them, since the step asks a repeated text once)."""
  rng = np.random.default_rng(seed)
  chosen = [titles[i] for i in rng.choice(len(titles), products, replace=products > len(titles))]
  os.makedirs(folder, exist_ok=True)
  pq.write_table(pa.table({'product_id': [f'P{i:08d}' for i in range(products)], 'title': chosen}),
                 os.path.join(folder, 'catalog.parquet'), row_group_size=10000)
  return chosen


class ChildFailed(RuntimeError):
  """A child run that did not finish: how it ended (exit status or signal) and its stderr's tail."""


def children_cpu_seconds():
  """CPU-seconds (user and system) of the child processes this process has waited for."""
  used = resource.getrusage(resource.RUSAGE_CHILDREN)
  return used.ru_utime + used.ru_stime


def in_child(mode, **spec):
  """One of CHILD_MODES in a fresh child process (a cold start); its result plus peak RSS
  and the CPU-seconds the child used."""
  cpu = children_cpu_seconds()
  with PeakRss() as rss:
    completed = subprocess.run([sys.executable, '-m', 'benchmarks.bulk_inference', mode, json.dumps(spec)],
                               capture_output=True, text=True, cwd=REPO)
  if completed.returncode != 0:
    ended = (signal.Signals(-completed.returncode).name if completed.returncode < 0
             else f'exit status {completed.returncode}')
    tail = '\n'.join(completed.stderr.strip().splitlines()[-15:])
    raise ChildFailed(f'{mode} ended by {ended}; its stderr ends:\n{tail}')
  result = json.loads(completed.stdout.strip().splitlines()[-1])
  result['peak_rss_mb'] = rss.mb
  result['cpu_seconds'] = children_cpu_seconds() - cpu
  return result


def run_ours(catalog_folder, model_dir, attributes, serving, batch_size, bucket_size, work, incremental=False):
  return in_child('--one-run', catalog_folder=catalog_folder, model_dir=model_dir, attributes=attributes,
                  serving=serving, batch_size=batch_size, bucket_size=bucket_size, work=work,
                  incremental=incremental)


def run_ours_here(catalog_folder, model_dir, attributes, serving, batch_size, bucket_size, work, incremental):
  """The pipeline's catalog steps (pipelines/pipeline.create_enrichment_pipeline: the
  components the training pipeline runs, with the pipeline's default Beam args), timed
  per step from the run's own step lines; returns counts, seconds and the run's own cost
  (its summary's CPU-seconds). incremental: --incremental, in a work dir whose ML Metadata
  may hold a previous run."""
  import logging
  from pipelines import configs, console, runners
  config = configs.with_overrides(configs.PipelineConfig(
      pipeline_root=os.path.join(work, 'pipeline_root'), metadata_path=os.path.join(work, 'metadata.sqlite')), {
      'data.catalog': os.path.join(catalog_folder, '*.parquet'), 'data.attributes': tuple(attributes),
      'inference.runtime': serving.split(':')[0], 'inference.precision': serving.split(':')[1],
      'inference.batch_size': batch_size, 'inference.incremental': incremental,
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
          'questions_asked': summary['questions_asked'], 'questions_reused': summary['questions_reused'],
          'filled': sum(summary['values_filled'].values()), 'seconds': seconds, 'cost': summary['cost']}


def run_in_process(questions_file, model_dir, serving, batch_size, bucket_size):
  return in_child('--in-process', questions_file=questions_file, model_dir=model_dir,
                  serving=serving, batch_size=batch_size, bucket_size=bucket_size)


def run_in_process_here(questions_file, model_dir, serving, batch_size, bucket_size):
  """The served model on every question, handed over bucket_size at a time, as the
  catalog step does (serving/inference.predict), timed after a warm-up batch."""
  from serving import inference
  with open(questions_file, encoding='utf-8') as f:
    questions = [json.loads(line) for line in f]
  titles, attributes = [q['title'] for q in questions], [q['attribute'] for q in questions]
  runtime, precision = serving.split(':')
  model = inference.load(model_dir, precision, runtime)
  inference.predict(model, titles[:batch_size], attributes[:batch_size], batch_size)
  started = time.perf_counter()
  inference.predict(model, titles, attributes, batch_size, bucket_size)
  seconds = time.perf_counter() - started
  return {'questions': len(questions), 'seconds': seconds, 'questions_per_second': len(questions) / seconds}


def run_theirs(script, questions_file, checkpoint_dir, batch_size):
  """benchmarks/<script> (its name, then any flags of its own) in the comparison
  environment; its result plus peak RSS."""
  script, *flags = script.split()
  python = os.path.join(REPO, '.venv-comparison', 'bin', 'python')
  if not os.path.exists(python):
    raise SystemExit('No comparison environment: run benchmarks/install_comparison.sh first')
  cpu = children_cpu_seconds()
  with PeakRss() as rss:
    completed = subprocess.run(
        [python, os.path.join(REPO, 'benchmarks', script), '--checkpoint', checkpoint_dir,
         '--questions', questions_file, '--batch-size', str(batch_size), *flags],
        check=True, capture_output=True, text=True, env=dict(os.environ, HF_HUB_OFFLINE='1'))
  result = json.loads(completed.stdout.strip().splitlines()[-1])
  result['peak_rss_mb'] = rss.mb
  result['cpu_seconds'] = children_cpu_seconds() - cpu
  return result


def mean_tokens(checkpoint, titles, attributes, max_seq_length=128):
  """Mean sequence length of the questions' windows ([CLS] title [SEP] attribute [SEP])."""
  import tensorflow as tf
  from model import features as preprocessing
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


def f1_by_serving(model_dir, experiment, results_dir, eval_triples, servings):
  """Exact-match F1 of each runtime:precision, and of tensorflow:float32 (the reference)."""
  from catalog import splits, triples
  from evaluation.offline import evaluate_model
  if eval_triples:
    rows = [(p.title, p.attribute, p.value) for path in sorted(glob.glob(eval_triples))
            for _, p, _ in triples.read_triples(path) if not isinstance(p, str)]
  else:
    with open(os.path.join(results_dir, f'{experiment}.json')) as f:
      rows = triples.read_split(json.load(f)['examples_dir'], splits.EVAL)
  if not rows:
    raise SystemExit(f'no labelled triples in {eval_triples or experiment} to score F1 on')
  titles, attributes, gold = map(list, zip(*rows))
  return {serving: evaluate_model(model_dir, titles, attributes, gold, 256, serving.split(':')[1],
                                  serving.split(':')[0])['overall']['f1']
          for serving in sorted({REFERENCE, *servings})}, len(rows)


def steady_state(small, large):
  """The whole step's time as start-up + questions / rate, from two catalog sizes."""
  rate = (large['questions'] - small['questions']) / (large['seconds']['total'] - small['seconds']['total'])
  return {'questions_per_second': rate, 'startup_seconds': small['seconds']['total'] - small['questions'] / rate}


def per_million(results, counted):
  """Each run's CPU-seconds per million of what it counted (catalog/cost.py), where it counted any."""
  from catalog import cost
  return [v for v in (cost.per_million(r['cpu_seconds'], r[counted]) for r in results) if v is not None]


def spread(values, fmt='{:.1f}'):
  if not values:
    return '–'
  if len(values) == 1:
    return fmt.format(values[0])
  return f'{fmt.format(statistics.median(values))} [{fmt.format(min(values))}-{fmt.format(max(values))}]'


CHILD_MODES = {'--one-run': run_ours_here, '--in-process': run_in_process_here}


def main():
  if len(sys.argv) == 3 and sys.argv[1] in CHILD_MODES:   # a child of in_child
    print(json.dumps(CHILD_MODES[sys.argv[1]](**json.loads(sys.argv[2]))))
    return
  from serving.contract import ONNX_FILES, PRECISIONS, RUNTIMES
  from pipelines.run_outputs import newest_pushed_model
  servings = [f'tensorflow:{p}' for p in PRECISIONS] + [f'onnx:{p}' for p in ONNX_FILES]
  parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument('--products', type=int, default=10000)
  parser.add_argument('--attributes', type=int, default=10, help=f'the first N of {ATTRIBUTES}')
  parser.add_argument('--batch-size', type=int, default=128, help='ours and theirs alike')
  parser.add_argument('--bucket-size', type=int, default=8192)
  parser.add_argument('--repeats', type=int, default=3)
  parser.add_argument('--servings', nargs='+', default=['tensorflow:int8', 'onnx:int8'], choices=servings,
                      help=f'runtime:precision ({", ".join(RUNTIMES)})')
  parser.add_argument('--startup-products', type=int, default=200,
                      help="ours also on a catalog of this many products (0: not), each repeat: the two "
                           "sizes split the whole step's time into a fixed start-up and a steady state")
  parser.add_argument('--incremental-rows', type=int, default=0,
                      help='ours twice with --incremental on a catalog of this many rows (first --servings, '
                           '--incremental-attributes): the second run should ask nothing (0: not run)')
  parser.add_argument('--incremental-attributes', type=int, default=1)
  parser.add_argument('--skip-theirs', action='store_true', help='neither Hugging Face nor the ONNX script')
  parser.add_argument('--skip-hf', action='store_true', help="the ONNX script only, not Hugging Face's pipeline")
  parser.add_argument('--script-sort-by', nargs='+', choices=('title', 'tokens'), default=['title'],
                      help="the ONNX script's batches sorted by the title's characters (as such scripts "
                           "do) and/or by token count (as ours)")
  parser.add_argument('--skip-in-process', action='store_true')
  parser.add_argument('--memory-rows', type=int, nargs='*', default=[10000, 100000],
                      help='catalog sizes for the memory runs (ours, in the first --servings)')
  parser.add_argument('--memory-attributes', type=int, default=10)
  parser.add_argument('--experiment', default='aveqa-random',
                      help='a benchmarks/experiments.py run: its model and eval split (F1)')
  parser.add_argument('--results-dir', default=os.path.join(REPO, 'outputs', 'experiments'))
  parser.add_argument('--model', default=None, help='a pushed serving model dir (default: the experiment\'s)')
  parser.add_argument('--other-model', default=None, metavar='LABEL=DIR',
                      help='a second pushed model timed in the same run, e.g. suopentag=DIR (SUOpenTag '
                           'beside AVEQA); its F1 on the same eval triples')
  parser.add_argument('--other-servings', nargs='+', default=['tensorflow:float32'], choices=servings)
  parser.add_argument('--eval-triples', default=None, help='score F1 here instead of the experiment\'s eval split')
  parser.add_argument('--skip-f1', action='store_true')
  parser.add_argument('--work-dir', default=None)
  args = parser.parse_args()

  from benchmarks.matmul_rates import cpu_line
  from model.checkpoint import read_checkpoint
  model_dir = args.model or newest_pushed_model(
      os.path.join(args.results_dir, args.experiment, 'serving_model'))
  checkpoint = read_checkpoint(None)
  attributes = list(ATTRIBUTES[:args.attributes])
  work = args.work_dir or tempfile.mkdtemp(prefix='bulk-inference-')
  titles, source = titles_pool()
  chosen = write_catalog(os.path.join(work, 'catalog'), args.products, titles)
  if args.startup_products:
    write_catalog(os.path.join(work, 'catalog-startup'), args.startup_products, titles, seed=2)
  questions_file = os.path.join(work, 'questions.jsonl')
  with open(questions_file, 'w', encoding='utf-8') as f:
    for title in chosen:
      for attribute in attributes:
        f.write(json.dumps({'title': title, 'attribute': attribute}) + '\n')
  repeated = len(chosen) - len(set(chosen))
  print(f'{cpu_line()}\nmodel {model_dir}\ncatalog: {args.products} products x {len(attributes)} attributes, '
        f'titles from {source} ({repeated} rows repeat another\'s title); batch {args.batch_size}; '
        f'cpus {os.cpu_count()}; work dir {work}')

  # (model dir, runtime:precision, row label): the main model's servings, then the other's.
  targets = [(model_dir, s, s) for s in args.servings]
  if args.other_model:
    other_label, other_dir = args.other_model.split('=', 1)
    print(f'other model {other_label}: {other_dir}')
    targets += [(other_dir, s, f'{other_label} {s}') for s in args.other_servings]
  runs = {key: [] for _, _, key in targets}
  failed = {key: [] for _, _, key in targets}   # how each run of ours that did not finish ended
  in_process = {key: [] for _, _, key in targets}
  theirs = {'hf_qa_pipeline.py': [], **{f'ort_practitioner.py --sort-by {key}': [] for key in args.script_sort_by}}
  if args.skip_hf:
    del theirs['hf_qa_pipeline.py']
  for repeat in range(args.repeats):
    for target_dir, serving, key in targets:
      try:
        result = run_ours(os.path.join(work, 'catalog'), target_dir, attributes, serving, args.batch_size,
                          args.bucket_size, os.path.join(work, f"ours-{key.replace(' ', '-')}-{repeat}"))
      except ChildFailed as failure:   # counted and shown, not fatal: a crash rate is a result
        failed[key].append(str(failure).splitlines()[0])
        print(f'ours {key} #{repeat}: FAILED, {failure}', flush=True)
        continue
      runs[key].append(result)
      print(f'ours {key} #{repeat}: {json.dumps(result)}', flush=True)
      if args.startup_products:
        small = run_ours(os.path.join(work, 'catalog-startup'), target_dir, attributes, serving, args.batch_size,
                         args.bucket_size, os.path.join(work, f"startup-{key.replace(' ', '-')}-{repeat}"))
        result['steady'] = steady_state(small, result)
        print(f'ours {key} #{repeat}, {args.startup_products} products: {json.dumps(small)}; '
              f'{json.dumps(result["steady"])}', flush=True)
      if not args.skip_in_process:
        in_process[key].append(run_in_process(questions_file, target_dir, serving, args.batch_size, args.bucket_size))
        print(f'ours in-process {key} #{repeat}: {json.dumps(in_process[key][-1])}', flush=True)
    for script, results in ([] if args.skip_theirs else theirs.items()):
      results.append(run_theirs(script, questions_file, checkpoint.path, args.batch_size))
      print(f'{script} #{repeat}: {json.dumps(results[-1])}', flush=True)

  incremental = []
  if args.incremental_rows:
    folder = os.path.join(work, 'incremental')
    write_catalog(os.path.join(folder, 'catalog'), args.incremental_rows, titles, seed=3)
    for _ in range(2):
      incremental.append(run_ours(os.path.join(folder, 'catalog'), model_dir,
                                  list(ATTRIBUTES[:args.incremental_attributes]), args.servings[0],
                                  args.batch_size, args.bucket_size, folder, incremental=True))
      print(f'ours --incremental: {json.dumps(incremental[-1])}', flush=True)

  memory = []
  memory_attributes = list(ATTRIBUTES[:args.memory_attributes])
  for rows in args.memory_rows:
    folder = os.path.join(work, f'memory-{rows}')
    write_catalog(os.path.join(folder, 'catalog'), rows, titles, seed=1)
    result = run_ours(os.path.join(folder, 'catalog'), model_dir, memory_attributes, args.servings[0],
                      args.batch_size, args.bucket_size, folder)
    memory.append((rows, result))
    print(f'memory {rows} rows: {json.dumps(result)}', flush=True)

  length = mean_tokens(checkpoint, chosen, attributes)
  flops = flops_per_question(checkpoint.config, length)
  from benchmarks.matmul_rates import matmul_gflops
  precisions = sorted({s.split(':')[1] for s in args.servings})
  rates = {p: matmul_gflops(p) for p in precisions}
  if args.skip_f1:
    f1, eval_count = {key: float('nan') for _, _, key in targets}, 0
    f1[REFERENCE] = float('nan')
  else:
    f1, eval_count = f1_by_serving(model_dir, args.experiment, args.results_dir, args.eval_triples,
                                   args.servings)
    if args.other_model:
      other_f1, _ = f1_by_serving(other_dir, args.experiment, args.results_dir, args.eval_triples,
                                  args.other_servings)
      f1.update({f'{other_label} {s}': v for s, v in other_f1.items()})

  questions = len(chosen) * len(attributes)
  print(f'\n## Bulk inference, {args.products} products x {len(attributes)} attributes = {questions} '
        f'questions, batch {args.batch_size}, {args.repeats} repeat(s): median [min-max]\n')
  print(cpu_line() + '\n')
  print('| method | runtime:precision | questions/s | steady-state questions/s | start-up s | '
        'inference-only questions/s | CPU-s per 1M questions | CPU-s per 1M filled | peak RSS MB | '
        f'exact-match F1 ({eval_count} eval triples) |')
  print('|---|---|---|---|---|---|---|---|---|---|')
  for serving, results in runs.items():   # serving: the row label (runtime:precision, or the other model's)
    steady = [r['steady'] for r in results if 'steady' in r]
    print(f"| ours: Beam catalog step (read, infer, join, write Parquet) | {serving} "
          f"| {spread([r['questions'] / r['seconds']['total'] for r in results])} "
          f"| {spread([s['questions_per_second'] for s in steady])} "
          f"| {spread([s['startup_seconds'] for s in steady])} "
          f"| {spread([r['questions'] / r['seconds']['inference'] for r in results])} "
          f"| {spread(per_million(results, 'questions'), '{:,.0f}')} "
          f"| {spread(per_million(results, 'filled'), '{:,.0f}')} "
          f"| {spread([r['peak_rss_mb'] for r in results], '{:.0f}')} | {100 * f1[serving]:.2f} |")
  for serving, results in in_process.items():
    if results:
      print(f"| ours, in-process: the served model called directly (no Beam) | {serving} "
            f"| {spread([r['questions_per_second'] for r in results])} | (same) | | (same) "
            f"| {spread(per_million(results, 'questions'), '{:,.0f}')} | "
            f"| {spread([r['peak_rss_mb'] for r in results], '{:.0f}')} | {100 * f1[serving]:.2f} |")
  labels = {'hf_qa_pipeline.py': ("Hugging Face pipeline('question-answering'), torch {torch_threads} threads",
                                  'torch:float32'),
            'ort_practitioner.py': ('plain script: torch.onnx export, BERT fusions, int8 dynamic quantization, '
                                    'batches sorted by {sorted_by}, argmax decoding ({fused})', 'onnx:int8')}
  sorted_by = {'title': "the title's characters", 'tokens': 'token count'}
  for script, results in theirs.items():
    if results:
      label, serving = labels[script.split()[0]]
      if '--sort-by' in script:
        label = label.replace('{sorted_by}', sorted_by[script.split()[-1]])
      print(f"| {label.format(**results[0])} | {serving} | {spread([t['questions_per_second'] for t in results])} "
            f"| (same) | | (same) "
            f"| {spread(per_million(results, 'questions'), '{:,.0f}')} | "
            f"| {spread([t['peak_rss_mb'] for t in results], '{:.0f}')} | (untrained head) |")
  for precision in precisions:
    print(f'| floor: {flops / 1e9:.3f} GFLOP/question at {length:.1f} tokens / {rates[precision]:.0f} '
          f'GFLOP/s matmul | {precision} | {rates[precision] * 1e9 / flops:.1f} | | | | | | | |')
  for serving, results in runs.items():
    ended = ', '.join(f'{failed[serving].count(f)}x {f}' for f in sorted(set(failed[serving])))
    print(f"\nours {serving}: {len(results)} of {len(results) + len(failed[serving])} runs finished"
          + (f'; the others: {ended}' if ended else ''))
  for script, results in theirs.items():
    if not results:
      continue
    base = statistics.median(t['questions_per_second'] for t in results)
    for serving, runs_of in runs.items():
      if not runs_of:
        continue
      ours = statistics.median(r['questions'] / r['seconds']['total'] for r in runs_of)
      alone = (f", {statistics.median(r['questions_per_second'] for r in in_process[serving]) / base:.2f}x "
               '(in-process)' if in_process[serving] else '')
      steady = [r['steady']['questions_per_second'] for r in runs_of if 'steady' in r]
      steady = f", {statistics.median(steady) / base:.2f}x (whole step, steady state)" if steady else ''
      reference = f1[f"{serving.rsplit(' ', 1)[0]} {REFERENCE}" if ' ' in serving else REFERENCE]
      print(f'\nours {serving} / {script}: {ours / base:.2f}x (whole step){steady}{alone}; '
            f'F1 {100 * f1[serving]:.2f}, {100 * (f1[serving] - reference):+.2f} vs its {REFERENCE}')
  for i, result in enumerate(incremental):
    print(f"\nours {args.servings[0]} --incremental, run {i + 1} on the same {args.incremental_rows}-row catalog: "
          f"{result['questions']} questions, {result['questions_asked']} asked of the model, "
          f"{result['questions_reused']} answered by the previous run; {result['seconds']['total']:.0f} s")
  if memory:
    print(f'\n## Peak RSS as the catalog grows (ours, {args.servings[0]}, {len(memory_attributes)} attributes)\n')
    print('| rows | questions | seconds | peak RSS MB |\n|---|---|---|---|')
    for rows, result in memory:
      print(f"| {rows} | {result['questions']} | {result['seconds']['total']:.0f} | {result['peak_rss_mb']:.0f} |")


if __name__ == '__main__':
  main()
