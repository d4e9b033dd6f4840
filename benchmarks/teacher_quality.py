"""The distilled MLM's teacher before and after domain adaptation, on the split
of a finished experiment: the same code as the pipeline's DomainAdaptation step, run on
that experiment's ingest output (train titles to learn from, eval titles to measure on).

  .venv/bin/python -m benchmarks.teacher_quality --experiment aveqa-random-windows --steps 600

Prints the CPU model, the step's settings, the masked-LM loss, and top-1 / top-5 accuracy
and perplexity at the masked positions of the eval titles it did not train on, for the
original checkpoint (its tied-embedding projection) and the adapted one; writes the
adapted checkpoint and adaptation.json under outputs/teacher-quality/<experiment>-<steps>/.
"""
import argparse
import glob
import json
import os
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

from pipelines import configs  # noqa: E402


def cpu_model() -> str:
  with open('/proc/cpuinfo') as f:
    names = [line.split(':', 1)[1].strip() for line in f if line.startswith('model name')]
  return f'{names[0] if names else "unknown CPU"} ({len(names)} logical cores)'


def main(argv=None):
  defaults = configs.AdaptationConfig()
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--experiment', required=True, help='a run under outputs/experiments')
  parser.add_argument('--results-dir', default=os.path.join(REPO, 'outputs', 'experiments'))
  parser.add_argument('--catalog-rows', default=None, help="a CatalogQuestionGen catalog_rows folder "
                      "whose text is also learned from (default: none)")
  parser.add_argument('--checkpoint', default=None)
  parser.add_argument('--steps', type=int, default=configs.BUDGETS['cpu']['adaptation.steps'])
  parser.add_argument('--batch-size', type=int, default=defaults.batch_size)
  parser.add_argument('--mask-rate', type=float, default=defaults.mask_rate)
  parser.add_argument('--max-length', type=int, default=defaults.max_length)
  parser.add_argument('--learning-rate', type=float, default=defaults.learning_rate)
  parser.add_argument('--seed', type=int, default=0)
  args = parser.parse_args(argv)

  from training import domain_adaptation
  from model.checkpoint import default_checkpoint_dir
  examples = max(glob.glob(os.path.join(args.results_dir, args.experiment, 'pipeline_root',
                                        'TriplesExampleGen', 'examples', '*')), key=os.path.getmtime)
  output = os.path.join(REPO, 'outputs', 'teacher-quality', f'{args.experiment}-{args.steps}')
  print('CPU:', cpu_model())
  started = time.time()
  settings = configs.AdaptationConfig(args.steps, args.batch_size, args.mask_rate, args.max_length,
                                      args.learning_rate, defaults.dropout)
  summary = domain_adaptation.adapt_checkpoint(
      examples, args.catalog_rows, output, args.checkpoint or default_checkpoint_dir(), settings, args.seed,
      False)
  print(f'{time.time() - started:.0f} s; examples: {examples}')
  print(json.dumps({k: v for k, v in summary.items() if k != 'mlm_loss'}, indent=2))
  for line in domain_adaptation.summary_lines(summary):
    print(line)


if __name__ == '__main__':
  main()
