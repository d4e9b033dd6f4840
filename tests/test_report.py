import json

from benchmarks import report


def _result(name, f1, rule='random'):
  counts = {'total': 10, 'precision': f1, 'recall': f1, 'f1': f1}
  return {'name': name, 'split': {'rule': rule, 'held_out_attributes': ['Frame Color']},
          'train_examples': 40, 'eval_examples': 10, 'alpha': 0.5, 'beta': 0.5, 'budget': {'name': 'cpu'},
          'pipeline_wall_seconds': 12.0, 'command': 'experiments.py run',
          'model': {'overall': counts, 'per_attribute': {'Brand Name': counts},
                    'threshold_sweep': [{'threshold': t, 'precision': f1, 'recall': f1, 'f1': f1} for t in (0.1, 0.5)],
                    'reliability': [{'bin': [0.9, 1.0], 'count': 10, 'mean_confidence': 0.95, 'accuracy': f1}]}}


def test_report_puts_ours_beside_the_baselines(tmp_path):
  for name, f1 in (('run', 0.8), ('run.hf-squad', 0.7), ('run.dictionary', 0.6)):
    (tmp_path / f'{name}.json').write_text(json.dumps(_result(name, f1)))
  report.write_report(str(tmp_path))
  text = (tmp_path / 'report.md').read_text()
  assert '| **overall F1** | 10 | 80.0 | 70.0 | 60.0 | 85.01 | 74.92 |' in text
  assert '| overall P / R | | 80.0 / 80.0 | 70.0 / 70.0 | 60.0 / 60.0 | – | – |' in text
  assert '85.01' in text and (tmp_path / 'run.threshold.png').exists()
  assert '| AVEQA | random | 80.0 |' in text
