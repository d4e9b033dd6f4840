"""The AVEQA paper's experiments on AE-pub, each one command that writes a results JSON
and a Markdown table under outputs/experiments/ (or --results-dir).

  # Table 2/3: overall and Brand Name / Material / Color / Category, random 80/20 split
  .venv/bin/python -m benchmarks.experiments run --name aveqa-random --split random
  # Table 4: the five zero-shot attributes held out of training
  .venv/bin/python -m benchmarks.experiments run --name aveqa-zero-shot --split zero_shot
  # Figure 3: ablations, each a named set of overrides (EXPERIMENTS): qa, qa-cls, qa-mlm
  .venv/bin/python -m benchmarks.experiments run --name qa-random --experiment qa --split random
  # The paper's baseline SUOpenTag on the same split: a column beside AVEQA in the report
  .venv/bin/python -m benchmarks.experiments run --name suopentag-random --experiment suopentag --split random
  # Baselines on the split of a finished run: the dictionary baseline and, with
  # benchmarks/install_comparison.sh done, Hugging Face's standard extractive-QA recipe
  .venv/bin/python -m benchmarks.experiments baselines --name aveqa-random
  # Everything found under --results-dir, with plots: report.md
  .venv/bin/python -m benchmarks.experiments report

An experiment is the pipeline's own configuration: the pipeline's defaults, the budget
(--budget, `cpu` unless given), the experiments' data (ON_AE_PUB: the AE-pub-21k files in
../shared/data/ae-pub, read in place, never copied, and the gate open), the named
overrides of --experiment, then any of the pipeline's own flags (`pipeline_runner.py
--help`: --split, --seed, --epochs, --alpha, --checkpoint, --triples, ...).
"""
import argparse
import glob
import json
import os
import subprocess
import sys
import time

os.environ.setdefault('KERAS_BACKEND', 'tensorflow')

import schemas  # noqa: E402
from catalog import splits  # noqa: E402
from catalog.config import SAMPLE_CATALOG  # noqa: E402
from pipelines import configs  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

AE_PUB = os.path.join(os.path.dirname(REPO), 'shared', 'data', 'ae-pub', 'opentags.*')
FOUR_ATTRIBUTES = ['Brand Name', 'Material', 'Color', 'Category']
DEFAULT_BUDGET = 'cpu'
# Every experiment trains on AE-pub and fills the embedded sample catalog without learning
# from its known values (so AE-pub alone is the training data); the gate blesses whatever
# is trained, the experiment scores it.
ON_AE_PUB = {'data.triples': AE_PUB, 'data.catalog': SAMPLE_CATALOG,
             'data.attributes': tuple(schemas.read_target_attributes()), 'data.mine_known_values': False,
             'gate.min_f1': 0.0, 'gate.max_f1_drop': 1.0}
# The paper's Figure 3 ablations and its baseline, each a named set of overrides.
EXPERIMENTS = {
    'aveqa': {},
    'qa': {'model.alpha': 0.0, 'model.beta': 0.0},
    'qa-cls': {'model.alpha': 0.0},
    'qa-mlm': {'model.beta': 0.0},
    'suopentag': {'model.model_type': 'suopentag'},
}


def experiment_config(args) -> configs.PipelineConfig:
  """The run's configuration: defaults, budget, ON_AE_PUB, the experiment, the flags."""
  root = os.path.join(args.results_dir, args.name)
  config = configs.with_budget(configs.PipelineConfig(
      pipeline_root=os.path.join(root, 'pipeline_root'), metadata_path=os.path.join(root, 'metadata.sqlite'),
      serving_model_dir=os.path.join(root, 'serving_model')), args.budget or DEFAULT_BUDGET)
  config = configs.with_overrides(config, {**ON_AE_PUB, **EXPERIMENTS[args.experiment]})
  return configs.with_overrides(config, configs.given_flags(args))


def budget_fields(name):
  """A configs.BUDGETS preset as flat field names (epochs, batch_size, …), as results record it."""
  return {key.rpartition('.')[2]: value for key, value in configs.BUDGETS[name].items()}


def run_budget(result):
  """The budget a run trained at, as its results record it (an --epochs override included),
  over its preset's fields: what the baselines train at to be beside it."""
  return {**budget_fields(result['budget']['name']), **result['budget']}


# The paper's numbers (AE-pub, full 110k; BERT-base), for the report's side column.
PAPER = {'overall': {'AVEQA': 85.01, 'SUOpenTag': 74.92}}


def _latest(pipeline_root, *parts):
  runs = glob.glob(os.path.join(pipeline_root, *parts))
  return max(runs, key=os.path.getmtime)


def examples_dir(pipeline_root):
  """The newest TriplesExampleGen output under a pipeline root (its train and eval splits)."""
  return _latest(pipeline_root, 'TriplesExampleGen', 'examples', '*')


def run(args):
  from pipelines import runners
  config = experiment_config(args)
  started = time.time()
  runners.run_local(config)
  with open(_latest(config.pipeline_root, 'Trainer', 'model', '*', 'training.json')) as f:
    steps = json.load(f)['steps']   # the Trainer's count of an epoch budget
  budget = dict(budget_fields(args.budget or DEFAULT_BUDGET), name=args.budget or DEFAULT_BUDGET, steps=steps,
                **({'epochs': config.training.epochs} if config.training.epochs is not None else {}),
                **({'learning_rate': config.training.tagger_learning_rate}
                   if config.model.model_type == 'suopentag' else {}))
  collect(args.results_dir, args.name, config, budget, time.time() - started, ' '.join(sys.argv))


def collect(results_dir, name, config, budget, wall_seconds, command, metrics_file=None,
            tuning_file=None):
  """The results JSON of a finished pipeline run (its eval-split metrics and its split).
  metrics_file: a `pipeline_runner.py --eval-triples` report of the same model on the
  same eval split (its predictions.jsonl beside it); without one, the pushed model is
  scored here on the eval split, so that every result has per-triple predictions (for
  evaluation/significance.py) and is checked against the pipeline's own evaluator."""
  pipeline_root = config.pipeline_root
  with open(os.path.join(examples_dir(pipeline_root), 'ingest_summary.json')) as f:
    ingest = json.load(f)
  if not metrics_file:
    metrics_file = evaluate_pushed_model(pipeline_root)
  with open(metrics_file) as f:
    metrics = json.load(f)
  predictions = os.path.join(os.path.dirname(metrics_file), 'predictions.jsonl')
  from serving.contract import TUNING_FILE
  tuning_files = [tuning_file] if tuning_file else glob.glob(
      os.path.join(pipeline_root, 'Trainer', 'model_run', '*', TUNING_FILE))
  tuning = None
  if tuning_files:
    with open(max(tuning_files, key=os.path.getmtime)) as f:
      tuning = {k: v for k, v in json.load(f).items() if k != 'sweep'}
  result = {'name': name, 'split': ingest['split_rule'], 'ingest': ingest['counts'],
            'train_examples': ingest['train_examples'], 'eval_examples': ingest['eval_examples'],
            'budget': budget, 'alpha': config.model.alpha, 'beta': config.model.beta,
            'model_type': config.model.model_type,
            'checkpoint': config.model.checkpoint or 'packaged MiniLM-L6-H384-uncased',
            'pipeline_wall_seconds': round(wall_seconds, 1), 'command': command,
            'value_threshold': tuning or 'fixed (not tuned)',
            'model': metrics, 'examples_dir': os.path.abspath(examples_dir(pipeline_root))}
  if os.path.exists(predictions):
    result['predictions'] = predictions
  write_result(results_dir, name, result)


def evaluate_pushed_model(pipeline_root):
  """`pipeline_runner.py --eval-triples` of the run's pushed model on its own eval split;
  returns the metrics.json path. The pipeline's evaluator scored the same model on the
  same triples, so a different F1 means the two paths disagree: that stops the run."""
  from catalog import triples
  from evaluation.offline import evaluate_triples_file
  root = os.path.dirname(pipeline_root)
  work = os.path.join(root, 'eval')
  os.makedirs(work, exist_ok=True)
  triples.write_triples(triples.read_split(examples_dir(pipeline_root), splits.EVAL),
                        os.path.join(work, 'eval.txt'))
  pushed = glob.glob(os.path.join(root, 'serving_model', '*', 'saved_model.pb'))
  if not pushed:
    raise SystemExit(f'no pushed model under {root}/serving_model: score the model with '
                     '`pipeline_runner.py --eval-triples` and pass its metrics.json as --metrics')
  with open(os.path.join(_latest(pipeline_root, 'ExactMatchEvaluator', 'evaluation', '*'),
                         'metrics.json')) as f:
    gate_metrics = json.load(f)
  gate = gate_metrics['model']['overall']
  # Scored as the gate served it (its choice, under --runtime auto --precision auto).
  report = evaluate_triples_file(os.path.join(work, 'eval.txt'), os.path.dirname(max(pushed)), work,
                                 gate_metrics.get('precision', 'float32'), configs.GateConfig().batch_size,
                                 gate_metrics.get('runtime', 'tensorflow'))
  if abs(gate['f1'] - report['overall']['f1']) > 1e-9 or gate['total'] != report['overall']['total']:
    raise SystemExit(f"offline F1 {report['overall']['f1']:.4f} on {report['overall']['total']} triples "
                     f"but the pipeline's evaluator gave {gate['f1']:.4f} on {gate['total']}")
  return os.path.join(work, 'metrics.json')


def write_result(results_dir, name, result):
  from evaluation.offline import markdown_table
  os.makedirs(results_dir, exist_ok=True)
  with open(os.path.join(results_dir, f'{name}.json'), 'w') as f:
    json.dump(result, f, indent=2)
  attributes = (FOUR_ATTRIBUTES if result['split'].get('rule') != 'zero_shot'
                else list(result['split']['held_out_attributes']))
  table = markdown_table(result['model'], attributes)
  with open(os.path.join(results_dir, f'{name}.md'), 'w') as f:
    f.write(f"# {name}\n\nsplit {result['split']}, {result['train_examples']} train / "
            f"{result['eval_examples']} eval triples\n\n{table}\n")
  print(table)


def baselines(args):
  from benchmarks import dictionary_baseline
  from catalog import triples
  from evaluation.offline import evaluate_predictions
  import numpy as np
  with open(os.path.join(args.results_dir, f'{args.name}.json')) as f:
    source = json.load(f)
  train = triples.read_split(source['examples_dir'], splits.TRAIN)
  evaluation = triples.read_split(source['examples_dir'], splits.EVAL)
  attributes, gold = [r[1] for r in evaluation], [r[2] for r in evaluation]

  def result(name, values, extra):
    # No probabilities: every answer is final (the threshold sweep is flat).
    predictions = {'value': np.array(values, dtype=object), 'span_text': np.array(values, dtype=object),
                   'span_prob': np.ones(len(values)), 'no_answer_prob': np.zeros(len(values)),
                   'confidence': np.ones(len(values))}
    own = {k: v for k, v in source.items() if k != 'predictions'}   # those are the run's answers
    write_result(args.results_dir, name, dict(own, name=name, model=evaluate_predictions(
        attributes, gold, predictions), **extra))

  dictionary = dictionary_baseline.train_dictionary(train)
  result(f'{args.name}.dictionary', [dictionary_baseline.predict(dictionary, t, a) for t, a, _ in evaluation],
         {'method': 'longest training value of the attribute found in the title'})

  python = os.path.join(REPO, '.venv-comparison', 'bin', 'python')
  if args.dictionary_only:
    return
  from model.checkpoint import read_checkpoint
  # Seed 0 at the budget's epochs is the baseline; other seeds show the recipe's own
  # run-to-run spread, other epochs what a longer budget would give it.
  budget = run_budget(source)
  epochs = args.hf_epochs or budget['epochs']
  suffix = ('hf-squad' + (f'-seed{args.seed}' if args.seed else '')
            + (f'-{epochs:g}ep' if epochs != budget['epochs'] else ''))
  work = os.path.join(args.results_dir, f'{args.name}.{suffix}')
  os.makedirs(work, exist_ok=True)
  triples.write_triples(train, os.path.join(work, 'train.txt'))
  triples.write_triples(evaluation, os.path.join(work, 'eval.txt'))
  recipe = ['benchmarks/hf_squad_baseline.py', '--train', os.path.join(work, 'train.txt'),
            '--eval', os.path.join(work, 'eval.txt'), '--output', os.path.join(work, 'predictions.jsonl'),
            '--epochs', f'{epochs:g}', '--batch-size', str(budget['batch_size']),
            '--max-length', str(budget['max_seq_length']), '--seed', str(args.seed)]
  stats_file = os.path.join(work, 'stats.json')
  if args.hf_elsewhere:
    # The recipe trained on another machine (a GPU) on these files: its predictions.jsonl
    # and the stats line it printed, saved as stats.json, are put back into work first.
    if not os.path.exists(stats_file):
      print(f'Run there, on {work}/train.txt and eval.txt, then put predictions.jsonl and its last '
            f'output line (stats.json) in {work}:\n  python {" ".join(recipe)} --checkpoint DIR --device cuda')
      return
    with open(stats_file) as f:
      stats = json.load(f)
  elif not os.path.exists(python):
    print('No comparison environment: run benchmarks/install_comparison.sh for the Hugging Face baseline')
    return
  else:
    completed = subprocess.run(
        [python, os.path.join(REPO, recipe[0]), *recipe[1:], '--checkpoint', read_checkpoint(args.checkpoint).path],
        check=True, capture_output=True, text=True, env=dict(os.environ, HF_HUB_OFFLINE='1'))
    stats = json.loads(completed.stdout.strip().splitlines()[-1])
  with open(os.path.join(work, 'predictions.jsonl'), encoding='utf-8') as f:
    values = [json.loads(line) or None for line in f]
  if len(values) != len(evaluation):
    raise SystemExit(f'{work}/predictions.jsonl has {len(values)} answers for {len(evaluation)} eval triples')
  result(f'{args.name}.{suffix}', values,
         {'method': 'Hugging Face BertForQuestionAnswering, SQuAD-2 null at [CLS], AdamW lr 5e-5',
          'train_seconds': stats['train_seconds'], 'seed': args.seed, 'epochs': epochs,
          'trained_on': stats.get('device', 'cpu'),
          'libraries': {k: stats[k] for k in ('torch', 'transformers') if k in stats}})


def main():
  parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  sub = parser.add_subparsers(dest='command', required=True)
  for name in ('run', 'collect', 'baselines', 'report'):
    p = sub.add_parser(name)
    p.add_argument('--results-dir', default=os.path.join(REPO, 'outputs', 'experiments'))
    if name != 'report':
      p.add_argument('--name', required=True)
    if name in ('run', 'collect'):   # the pipeline's own settings, as pipeline_runner.py takes them
      p.add_argument('--experiment', default='aveqa', choices=sorted(EXPERIMENTS),
                     help='a named set of overrides (EXPERIMENTS)')
      configs.add_flags(p)
    if name == 'baselines':
      p.add_argument('--checkpoint', default=None, help="the HF recipe's checkpoint (default: the packaged one)")
      p.add_argument('--dictionary-only', action='store_true', help='skip the Hugging Face recipe')
      p.add_argument('--seed', type=int, default=0,
                     help='the HF recipe\'s training seed; not 0: written as <name>.hf-squad-seed<N>')
      p.add_argument('--hf-epochs', type=float, default=None,
                     help="the HF recipe's passes over the train split (default: the budget's); "
                          'other than that: written as <name>.hf-squad-<N>ep')
      p.add_argument('--hf-elsewhere', action='store_true',
                     help='the HF recipe is trained on another machine (a GPU): the first call '
                          'writes its input files and says what to run there; a second, once its '
                          'predictions.jsonl and stats.json are back, records the result')
    if name == 'collect':   # a run made with pipeline_runner.py directly, with these settings
      p.add_argument('--steps', type=int, required=True)
      p.add_argument('--wall-seconds', type=float, required=True)
      p.add_argument('--run-command', required=True)
      p.add_argument('--metrics', default=None, help='an --eval-triples metrics.json of the same model')
      p.add_argument('--tuning', default=None, help='the value_threshold.json of that model')
  args = parser.parse_args()
  if args.command == 'run':
    run(args)
  elif args.command == 'collect':
    config = experiment_config(args)
    budget = args.budget or DEFAULT_BUDGET
    collect(args.results_dir, args.name, config, dict(budget_fields(budget), name=budget, steps=args.steps),
            args.wall_seconds, args.run_command, args.metrics, args.tuning)
  elif args.command == 'baselines':
    baselines(args)
  else:
    from benchmarks import report
    report.write_report(args.results_dir)


if __name__ == '__main__':
  main()
