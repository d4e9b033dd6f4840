"""Per-triple outcomes of a run, kept in the repository so paired intervals outlive a machine.

A run's predictions (outputs/experiments/NAME/eval/predictions.jsonl) hold AE-pub text,
which is academic-use data and stays out of the repository; they also go with the
machine. What a paired bootstrap needs is much less: per eval triple, which of the five
exact-match counters it fell in, and a key that pairs it with the same triple in another
run. This file writes that as `benchmarks/outcomes/NAME.tsv`: a digest of the triple
(title, attribute, gold value, repeat number; no text) and the outcome code.

  .venv/bin/python -m benchmarks.outcomes export --experiment aveqa-random-4ep
  .venv/bin/python -m benchmarks.outcomes export --experiment aveqa-random-4ep.hf-squad
  .venv/bin/python -m benchmarks.outcomes compare qa-mlm-zero-shot-rt qa-zero-shot-rt
"""
import argparse
import hashlib
import json
import os
import sys
from typing import Dict, Hashable, Optional

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

from evaluation import significance  # noqa: E402
from model import exact_match  # noqa: E402

OUTCOMES_DIR = os.path.join(REPO, 'benchmarks', 'outcomes')
RESULTS_DIR = os.path.join(REPO, 'outputs', 'experiments')


def triple_digest(key) -> str:
  """A digest of one keyed triple: equal triples pair up across runs, and no text is kept."""
  return hashlib.sha256(json.dumps(list(key), ensure_ascii=False).encode('utf-8')).hexdigest()[:16]


def keyed_answers(rows) -> Dict[tuple, str]:
  """{(title, attribute, gold, n): answer} from (title, attribute, gold, answer) rows: runs
  list their eval triples in different orders, so answers are paired by the triple
  itself (n numbers repeats of one triple)."""
  keyed, seen = {}, {}
  for title, attribute, gold, answer in rows:
    n = seen[(title, attribute, gold)] = seen.get((title, attribute, gold), -1) + 1
    keyed[(title, attribute, gold, n)] = answer
  return keyed


def answers_of_run(results_dir: str, name: str, result: Optional[dict] = None) -> Optional[Dict[tuple, str]]:
  """A run's keyed answer per eval triple from its predictions on this machine, or None
  when they are gone. An HF recipe's run (NAME.hf-squad...) keeps predictions.jsonl in
  the order of its own eval.txt; ours keeps them in the run's predictions.jsonl, named in
  its results JSON (`result`, read from results_dir when not given)."""
  if '.hf-squad' in name:
    from catalog import triples
    work = os.path.join(results_dir, name)
    if not os.path.exists(os.path.join(work, 'predictions.jsonl')):
      return None
    with open(os.path.join(work, 'predictions.jsonl'), encoding='utf-8') as f:
      answers = [json.loads(line) for line in f]
    evaluated = [parsed for _, parsed, _ in triples.read_triples(os.path.join(work, 'eval.txt'))]
    return keyed_answers((t.title, t.attribute, t.value, a) for t, a in zip(evaluated, answers))
  if result is None:
    with open(os.path.join(results_dir, f'{name}.json')) as f:
      result = json.load(f)
  predictions = result.get('predictions')
  if predictions and not os.path.isabs(predictions):
    predictions = os.path.join(REPO, predictions)
  if not predictions or not os.path.exists(predictions):
    return None
  with open(predictions, encoding='utf-8') as f:
    rows = [json.loads(line) for line in f]
  return keyed_answers((r['title'], r['attribute'], r['gold'], r['value']) for r in rows)


def codes_of_answers(answers: Dict[tuple, str]) -> Dict[str, int]:
  """{digest: outcome code} from keyed_answers' {(title, attribute, gold, n): answer}."""
  codes = {}
  for key, answer in answers.items():
    codes[triple_digest(key)] = exact_match.OUTCOMES.index(exact_match.outcome(key[2], answer))
  if len(codes) != len(answers):
    raise ValueError('two eval triples share a digest; lengthen triple_digest')
  return codes


def path_of(name: str, outcomes_dir: Optional[str] = None) -> str:
  return os.path.join(outcomes_dir or OUTCOMES_DIR, f'{name}.tsv')


def write(path: str, codes: Dict[str, int]) -> None:
  os.makedirs(os.path.dirname(path), exist_ok=True)
  with open(path, 'w') as f:
    f.write('digest\toutcome\n')
    for digest in sorted(codes):
      f.write(f'{digest}\t{exact_match.OUTCOMES[codes[digest]]}\n')


def read(path: str) -> Optional[Dict[Hashable, int]]:
  """{digest: outcome code}, or None where no file was kept."""
  if not os.path.exists(path):
    return None
  with open(path) as f:
    header, *lines = f.read().splitlines()
  if header != 'digest\toutcome':
    raise ValueError(f'{path}: not an outcomes file (header {header!r})')
  return {digest: exact_match.OUTCOMES.index(outcome)
          for digest, outcome in (line.split('\t') for line in lines)}


def paired_difference(ours: Dict[Hashable, int], theirs: Dict[Hashable, int]):
  """F1(ours) - F1(theirs) with its 95% interval, when both scored the same triples."""
  if not ours or not theirs or set(ours) != set(theirs):
    return None
  keys = sorted(ours)
  return significance.paired_f1_difference_of_codes(
      np.array([ours[k] for k in keys], np.int8), np.array([theirs[k] for k in keys], np.int8))


def _export(args):
  name = args.experiment
  answers = answers_of_run(args.results_dir, name)
  if not answers:
    sys.exit(f'{name}: its predictions are not on this machine')
  codes = codes_of_answers(answers)
  write(path_of(name, args.outcomes_dir), codes)
  f1 = 100 * float(significance.f1_of_codes(np.array(list(codes.values()))))
  print(f'{name}: {len(codes)} triples, F1 {f1:.2f} -> {path_of(name, args.outcomes_dir)}')


def _compare(args):
  ours, theirs = (read(path_of(n, args.outcomes_dir)) for n in (args.ours, args.theirs))
  for name, codes in ((args.ours, ours), (args.theirs, theirs)):
    if codes is None:
      sys.exit(f'no outcomes kept for {name}: {path_of(name, args.outcomes_dir)}')
  d = paired_difference(ours, theirs)
  if d is None:
    sys.exit(f'{args.ours} and {args.theirs} were not scored on the same eval triples')
  print(f"F1({args.ours}) - F1({args.theirs}) = {d['difference']:+.2f} "
        f"[{d['low']:+.2f}, {d['high']:+.2f}] over {d['triples']} triples")


def main(argv=None):
  p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  p.add_argument('--outcomes-dir', default=None, help=f'default: {OUTCOMES_DIR}')
  p.add_argument('--results-dir', default=RESULTS_DIR)
  sub = p.add_subparsers(dest='command', required=True)
  e = sub.add_parser('export', help="keep a run's per-triple outcomes in the repository")
  e.add_argument('--experiment', required=True)
  e.set_defaults(run=_export)
  c = sub.add_parser('compare', help='paired-bootstrap F1 difference of two kept runs')
  c.add_argument('ours'), c.add_argument('theirs')
  c.set_defaults(run=_compare)
  args = p.parse_args(argv)
  args.run(args)


if __name__ == '__main__':
  main()
