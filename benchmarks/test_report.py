import json

from benchmarks import report


def _result(name, f1, rule='random'):
  counts = {'total': 10, 'precision': f1, 'recall': f1, 'f1': f1}
  return {'name': name, 'split': {'rule': rule, 'held_out_attributes': ['Frame Color']},
          'train_examples': 40, 'eval_examples': 10, 'alpha': 0.5, 'beta': 0.5, 'budget': {'name': 'cpu', 'epochs': 2},
          'pipeline_wall_seconds': 12.0, 'command': 'experiments.py run',
          'model': {'overall': counts, 'per_attribute': {'Brand Name': counts},
                    'threshold_sweep': [{'threshold': t, 'precision': f1, 'recall': f1, 'f1': f1} for t in (0.1, 0.5)],
                    'reliability': [{'bin': [0.9, 1.0], 'count': 10, 'mean_confidence': 0.95, 'accuracy': f1}]}}


def test_report_puts_ours_beside_the_baselines(tmp_path):
  for name, f1 in (('run', 0.8), ('run.hf-squad', 0.7), ('run.dictionary', 0.6), ('run.hf-squad-seed1', 0.75)):
    (tmp_path / f'{name}.json').write_text(json.dumps(dict(_result(name, f1), seed=1)))
  (tmp_path / 'run.hf-squad-4ep.json').write_text(json.dumps(dict(_result('run.hf-squad-4ep', 0.72), seed=0,
                                                                 epochs=4)))
  # SUOpenTag on the same split joins AVEQA's table; one on another split does not.
  (tmp_path / 'tagger.json').write_text(json.dumps(dict(_result('tagger', 0.65), model_type='suopentag')))
  (tmp_path / 'tagger-zero.json').write_text(json.dumps(dict(_result('tagger-zero', 0.1, 'zero_shot'),
                                                             model_type='suopentag')))
  # Figure 3 takes the newest run of each model on the split's usual eval set: not an older
  # run, nor one whose eval set grew with mined triples.
  import os
  (tmp_path / 'run-old.json').write_text(json.dumps(_result('run-old', 0.5)))
  os.utime(tmp_path / 'run-old.json', (0, 0))
  (tmp_path / 'run-mined.json').write_text(json.dumps(dict(_result('run-mined', 0.95), eval_examples=12)))
  report.write_report(str(tmp_path))
  text = (tmp_path / 'report.md').read_text()
  assert ('| AVEQA (ours) | SUOpenTag (ours, 2 epochs) | HF extractive-QA recipe | HF extractive-QA recipe, 4 epochs '
          '| HF extractive-QA recipe, seed 1 | dictionary baseline |') in text
  assert '| **overall F1** | 10 | 80.0 | 65.0 | 70.0 | 72.0 | 75.0 | 60.0 | 85.01 | 74.92 |' in text
  assert ('| overall P / R | | 80.0 / 80.0 | 65.0 / 65.0 | 70.0 / 70.0 | 72.0 / 72.0 | 75.0 / 75.0 | 60.0 / 60.0 '
          '| – | – |') in text
  assert '85.01' in text and (tmp_path / 'run.threshold.png').exists()
  assert '| model | random F1 | zero_shot F1 |' in text and '| AVEQA | 80.0 | – |' in text
  assert '| SUOpenTag | 65.0 | 10.0 |' in text and '## tagger: SUOpenTag' in text
  assert '| HF extractive-QA recipe | 70.0 | – |' in text and (tmp_path / 'ablations.png').exists()


def test_a_zero_shot_table_gives_the_mean_of_the_held_out_attributes_and_the_unseen_rule(tmp_path):
  def zero_shot(name, f1s, **extra):
    result = _result(name, 0.5, 'zero_shot')
    result['split']['held_out_attributes'] = ['Frame Color', 'Product Type']
    result['model']['per_attribute'] = {a: {'total': 5, 'precision': f, 'recall': f, 'f1': f}
                                        for a, f in zip(('Frame Color', 'Product Type'), f1s)}
    (tmp_path / f'{name}.json').write_text(json.dumps(dict(result, **extra)))
  tuning = {'threshold': 0.4, 'dev_examples': 30, 'sweep': [],
            'unseen_rule': {'kind': 'value', 'threshold': 0.15, 'questions': 120, 'attributes': 9}}
  zero_shot('zs', (0.4, 0.6), value_threshold=tuning)
  zero_shot('zs-tagger', (0.2, 0.3), model_type='suopentag')
  zero_shot('zs.dictionary', (0.1, 0.0))
  report.write_report(str(tmp_path))
  text = (tmp_path / 'report.md').read_text()
  assert '| mean of the held-out attributes | | 50.0 | 25.0 | 5.0 |' in text
  assert ('Attributes never trained on: a value when p(value) >= 0.15, tuned on 120 questions of 9 '
          'pseudo-unseen attributes held out of training.') in text


def _predictions(path, gold, values):
  with open(path, 'w') as f:
    for g, v in zip(gold, values):
      f.write(json.dumps({'title': 't', 'attribute': 'Brand Name', 'gold': g, 'value': v, 'confidence': 0.9}) + '\n')


def test_report_tests_differences_on_the_same_triples(tmp_path):
  from catalog import triples
  gold = [f'v{i}' for i in range(600)]
  ours = [g if i % 10 else 'wrong' for i, g in enumerate(gold)]          # 540 right
  ablation = [g if i % 2 else 'wrong' for i, g in enumerate(gold)]        # 300 right
  theirs = [g if i % 3 else '' for i, g in enumerate(gold)]               # 400 right, 200 withheld
  for name, alpha, answers, order in (('aveqa', 0.5, ours, 1), ('qa-cls', 0.0, ablation, -1)):
    # Runs list their eval triples in different orders: pairing is by triple, not by line.
    result = dict(_result(name, 0.5), alpha=alpha, predictions=str(tmp_path / f'{name}.jsonl'))
    _predictions(tmp_path / f'{name}.jsonl', gold[::order], answers[::order])
    (tmp_path / f'{name}.json').write_text(json.dumps(result))
  (tmp_path / 'aveqa.hf-squad.json').write_text(json.dumps(_result('aveqa.hf-squad', 0.4)))
  (tmp_path / 'aveqa.hf-squad').mkdir()
  triples.write_triples([('t', 'Brand Name', g) for g in gold], str(tmp_path / 'aveqa.hf-squad' / 'eval.txt'))
  (tmp_path / 'aveqa.hf-squad' / 'predictions.jsonl').write_text(''.join(json.dumps(v) + '\n' for v in theirs))
  report.write_report(str(tmp_path))
  text = (tmp_path / 'report.md').read_text()
  # F1: ours 0.9, HF 2*400/(200 + 800) = 0.8, QA+CLS 0.5: differences +10.0 and -40.0 points
  line = next(l for l in text.splitlines() if l.startswith("F1 minus the HF recipe's (seed 0) on the same 600 triples: +10.0 ["))
  low, high = (float(x) for x in line.split('[')[1].split(']')[0].split(', '))
  assert 0 < low < 10 < high
  assert '| QA+CLS | 50.0 (-40.0 [' in text
  assert '| ## ' not in text and (tmp_path / 'ablations.png').exists()
  assert '## qa-cls: QA+CLS' in text and '| QA+CLS (ours) |' in text
