"""Where a run's misses come from: the span it would extract, or its "no value" decision.

Exact-match F1 mixes two things: does the model find the right span, and does it dare to
answer. This serves each run's pushed model on the run's own eval triples and prints, per
attribute and overall, the best span's accuracy on the triples that have a value (answered
or not), how often the model answers, the F1 it scored, and the F1 it would score with the
decision removed (every question answered with its best span). The last column reads the
eval split, so it diagnoses and is never a result to choose a rule by.

  .venv/bin/python -m benchmarks.span_or_decision qa-zero-shot-rt qa-mlm-zero-shot-rt
"""
import argparse
import glob
import os
from typing import Dict, Sequence

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

from model import exact_match  # noqa: E402

OVERALL = 'overall'


def breakdown(attributes: Sequence[str], gold: Sequence[str], answers: Sequence[str],
              best_spans: Sequence[str]) -> Dict[str, Dict[str, float]]:
  """Per attribute (and OVERALL): triples, with_value, span_right (share of the triples with
  a value whose best span is the gold value), answered_with_value / answered_null (share
  answered), f1 (of the answers) and f1_always_answered (of the best spans), in percent."""
  groups = {OVERALL: range(len(gold))}
  for attribute in sorted(set(attributes)):
    groups[attribute] = [i for i, a in enumerate(attributes) if a == attribute]

  def share(flags):
    return 100.0 * float(np.mean(flags)) if len(flags) else float('nan')

  table = {}
  for name, rows in groups.items():
    valued = [i for i in rows if exact_match.normalize(gold[i])]
    null = [i for i in rows if not exact_match.normalize(gold[i])]
    f1, f1_spans = (exact_match.score((attributes[i], gold[i], predicted[i]) for i in rows)[0].f1
                    for predicted in (answers, best_spans))
    table[name] = {
        'triples': len(rows), 'with_value': len(valued),
        'span_right': share([exact_match.normalize(best_spans[i]) == exact_match.normalize(gold[i])
                             for i in valued]),
        'answered_with_value': share([bool(exact_match.normalize(answers[i])) for i in valued]),
        'answered_null': share([bool(exact_match.normalize(answers[i])) for i in null]),
        'f1': 100.0 * f1, 'f1_always_answered': 100.0 * f1_spans}
  return table


def _percent(share: float) -> str:
  return '-' if np.isnan(share) else f'{share:.1f}%'


def markdown(name: str, table: Dict[str, Dict[str, float]]) -> str:
  lines = [f'### {name}', '',
           '| attribute | triples | with a value | best span right | answered (value / NULL) | F1 | F1, always answered |',
           '|---|---|---|---|---|---|---|']
  for attribute, row in table.items():
    lines.append(f"| {attribute} | {row['triples']} | {row['with_value']} | {_percent(row['span_right'])} | "
                 f"{_percent(row['answered_with_value'])} / {_percent(row['answered_null'])} | {row['f1']:.1f} | "
                 f"{row['f1_always_answered']:.1f} |")
  return '\n'.join(lines)


def run_breakdown(run_dir: str, batch_size: int = 64) -> Dict[str, Dict[str, float]]:
  """Serves the run's pushed model (float32, TensorFlow) on the run's eval/eval.txt."""
  from serving import inference
  from catalog import triples
  rows = [t for _, t, _ in triples.read_triples(os.path.join(run_dir, 'eval', 'eval.txt'))
          if not isinstance(t, str)]
  pushed = sorted(glob.glob(os.path.join(run_dir, 'serving_model', '*', 'saved_model.pb')))
  if not rows or not pushed:
    raise SystemExit(f'{run_dir} needs eval/eval.txt and a pushed model under serving_model/: '
                     'a finished `benchmarks/experiments.py run`')
  predictions = inference.predict(inference.load(os.path.dirname(pushed[-1])),
                                  [t.title for t in rows], [t.attribute for t in rows], batch_size)
  return breakdown([t.attribute for t in rows], [t.value for t in rows],
                   list(predictions['value']), list(predictions['span_text']))


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('experiments', nargs='+', help='runs under --results-dir')
  parser.add_argument('--results-dir', default=os.path.join(REPO, 'outputs', 'experiments'))
  args = parser.parse_args(argv)
  for name in args.experiments:
    print(markdown(name, run_breakdown(os.path.join(args.results_dir, name))), end='\n\n', flush=True)


if __name__ == '__main__':
  main()
