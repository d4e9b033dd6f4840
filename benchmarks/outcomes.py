"""Per-triple outcomes of a run, kept in the repository so paired intervals outlive a machine.

A run's predictions (outputs/experiments/NAME/eval/predictions.jsonl) hold AE-pub text,
which is academic-use data and stays out of the repository; they also go with the
machine. What a paired bootstrap needs is much less: per eval triple, which of the five
exact-match counters it fell in, and a key that pairs it with the same triple in another
run. This file writes that as `benchmarks/outcomes/NAME.tsv`: a digest of the triple
(title, attribute, gold value, repeat number; no text) and the outcome code.

  python benchmarks/outcomes.py export --experiment aveqa-random-4ep
  python benchmarks/outcomes.py export --experiment aveqa-random-4ep.hf-squad
  python benchmarks/outcomes.py compare qa-mlm-zero-shot-rt qa-zero-shot-rt
"""
import argparse
import hashlib
import json
import os
import sys
from typing import Dict, Hashable, Optional

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO not in sys.path:
  sys.path.insert(0, REPO)

from benchmarks import significance  # noqa: E402
from model import exact_match  # noqa: E402

OUTCOMES_DIR = os.path.join(REPO, 'benchmarks', 'outcomes')
RESULTS_DIR = os.path.join(REPO, 'outputs', 'experiments')


def triple_digest(key) -> str:
  """A digest of one keyed triple: equal triples pair up across runs, and no text is kept."""
  return hashlib.sha256(json.dumps(list(key), ensure_ascii=False).encode('utf-8')).hexdigest()[:16]


def codes_of_answers(keyed_answers: Dict[tuple, str]) -> Dict[str, int]:
  """{digest: outcome code} from report._keyed answers {(title, attribute, gold, n): answer}."""
  codes = {}
  for key, answer in keyed_answers.items():
    codes[triple_digest(key)] = exact_match.OUTCOMES.index(exact_match.outcome(key[2], answer))
  if len(codes) != len(keyed_answers):
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
  from benchmarks import report
  name = args.experiment
  if '.hf-squad' in name:   # an HF recipe's run: its predictions follow its own eval.txt
    answers = report._hf_answers(args.results_dir, name)
  else:
    with open(os.path.join(args.results_dir, f'{name}.json')) as f:
      answers = report._answers(json.load(f))
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
