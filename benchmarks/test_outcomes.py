import json

import numpy as np

from benchmarks import outcomes, report
from evaluation import significance

_keyed = outcomes.keyed_answers


GOLD = [('Red Cotton Shirt', 'Color', 'Red'), ('Red Cotton Shirt', 'Material', 'Cotton'),
        ('Acme Phone', 'Brand Name', 'Acme'), ('Acme Phone', 'Color', 'NULL'),
        ('Acme Phone', 'Color', 'NULL')]   # a repeated triple pairs by its repeat number


def test_kept_outcomes_pair_runs_listed_in_other_orders_and_hold_no_text(tmp_path):
  ours = ['Red', 'Cotton', 'Acme', '', 'Phone']
  theirs = ['Red', 'Shirt', '', '', '']
  a = outcomes.codes_of_answers(_keyed((t, at, g, p) for (t, at, g), p in zip(GOLD, ours)))
  b = outcomes.codes_of_answers(_keyed((t, at, g, p) for (t, at, g), p in reversed(list(zip(GOLD, theirs)))))
  assert set(a) == set(b) and len(a) == 5
  outcomes.write(str(tmp_path / 'ours.tsv'), a)
  text = (tmp_path / 'ours.tsv').read_text()
  assert 'Red' not in text and 'Acme' not in text and 'Color' not in text
  assert outcomes.read(str(tmp_path / 'ours.tsv')) == a
  assert outcomes.read(str(tmp_path / 'missing.tsv')) is None


def test_kept_outcomes_give_the_same_interval_as_the_answers():
  rng = np.random.default_rng(3)
  gold = [f'v{i % 7}' if i % 5 else 'NULL' for i in range(300)]
  ours = [g if rng.random() < 0.85 else 'x' for g in gold]
  theirs = [g if rng.random() < 0.7 else '' for g in gold]
  rows = lambda answers: _keyed((f'title {i}', 'Color', g, p) for i, (g, p) in enumerate(zip(gold, answers)))
  kept = outcomes.paired_difference(outcomes.codes_of_answers(rows(ours)), outcomes.codes_of_answers(rows(theirs)))
  direct = significance.paired_f1_difference(gold, ours, theirs)
  assert kept['triples'] == 300
  assert np.isclose(kept['difference'], direct['difference'])
  # Pairing keeps the per-triple link: the interval matches the direct one up to the resampling
  # order, and is far narrower than if the pairs were broken.
  assert abs(kept['low'] - direct['low']) < 1.5 and abs(kept['high'] - direct['high']) < 1.5


def test_runs_on_different_triples_are_not_compared():
  a = outcomes.codes_of_answers(_keyed([('t', 'Color', 'Red', 'Red')]))
  b = outcomes.codes_of_answers(_keyed([('u', 'Color', 'Red', 'Red')]))
  assert outcomes.paired_difference(a, b) is None


def test_report_falls_back_to_kept_outcomes_when_predictions_are_gone(tmp_path, monkeypatch):
  codes = outcomes.codes_of_answers(_keyed([('t', 'Color', 'Red', 'Red'), ('u', 'Color', 'NULL', 'Blue')]))
  monkeypatch.setattr(outcomes, 'OUTCOMES_DIR', str(tmp_path))
  outcomes.write(outcomes.path_of('gone-run'), codes)
  results = {'gone-run': {'predictions': str(tmp_path / 'no-such-predictions.jsonl')}}
  assert report._codes(str(tmp_path), results, 'gone-run') == codes
  assert report._codes(str(tmp_path), {'other': {}}, 'other') is None


def test_export_writes_the_outcomes_of_a_runs_predictions(tmp_path):
  predictions = tmp_path / 'predictions.jsonl'
  with open(predictions, 'w') as f:
    for (title, attribute, gold), value in zip(GOLD, ['Red', 'Wool', '', '', 'Phone']):
      f.write(json.dumps({'title': title, 'attribute': attribute, 'gold': gold, 'value': value}) + '\n')
  (tmp_path / 'run.json').write_text(json.dumps({'predictions': str(predictions)}))
  outcomes.main(['--results-dir', str(tmp_path), '--outcomes-dir', str(tmp_path / 'kept'),
                 'export', '--experiment', 'run'])
  kept = outcomes.read(str(tmp_path / 'kept' / 'run.tsv'))
  # vc, vw, vn (Acme missed), nn, nv: F1 = 2*1 / (1 + 1 + 2 + 2) = 1/3
  assert sorted(kept.values()) == [0, 1, 2, 3, 4]
  assert np.isclose(significance.f1_of_codes(np.array(list(kept.values()))), 1 / 3)
