"""Exact-match evaluation of an exported model on labelled triples, with the views a
user needs to tune it: per attribute, the value threshold sweep, and a
reliability table of the confidence. Used by the pipeline's gate
(exact_match_evaluator.py), `pipeline_runner.py --eval-triples`, and benchmarks/.
"""
import json
import logging
import os
from typing import Dict, Sequence, Tuple

import numpy as np
import tensorflow as tf

from serving import inference
from catalog import triples
from model import exact_match, value_threshold

log = logging.getLogger(__name__)

THRESHOLDS = tuple(np.round(np.arange(0.05, 1.0001, 0.05), 2))


def _scores(attributes, gold, predicted) -> Dict:
  overall, per_attribute = exact_match.score(zip(attributes, gold, predicted))
  return {'overall': overall.as_dict(),
          'per_attribute': {a: c.as_dict() for a, c in sorted(per_attribute.items())}}


def threshold_sweep(gold, predictions) -> Sequence[Dict]:
  """P/R/F1 if "no value" were returned whenever p(value) < t, for each t (on attributes
  the model was trained on; the others keep the model's answer, which no t changes)."""
  value_prob = predictions.get('value_prob')
  if value_prob is None:   # exported before value_prob was served
    value_prob = value_threshold.value_probability(predictions['span_prob'], predictions['no_answer_prob'])
  seen = np.asarray(predictions.get('attribute_seen', np.ones(len(gold), bool)), bool)
  answered = np.array([bool(v) for v in predictions['value']])
  score = np.where(seen, np.asarray(value_prob, float), np.where(answered, np.inf, -np.inf))
  rows = value_threshold.sweep_values(score, predictions['span_text'], gold, THRESHOLDS)
  return [{k: row[k] for k in ('threshold', 'precision', 'recall', 'f1')} for row in rows]


def reliability(gold, predictions, bins: int = 10) -> Sequence[Dict]:
  """Per confidence bin: how many answers, mean confidence, and how many were right
  (a value equal to gold, or "no value" for a NULL gold)."""
  right = np.array([exact_match.outcome(g, p) in ('nn', 'vc') for g, p in zip(gold, predictions['value'])])
  confidence = np.clip(predictions['confidence'].astype(float), 0, 1)
  which = np.minimum((confidence * bins).astype(int), bins - 1)
  rows = []
  for b in range(bins):
    chosen = which == b
    if chosen.any():
      rows.append({'bin': [b / bins, (b + 1) / bins], 'count': int(chosen.sum()),
                   'mean_confidence': float(confidence[chosen].mean()),
                   'accuracy': float(right[chosen].mean())})
  return rows


def evaluate_predictions(attributes, gold, predictions) -> Dict:
  report = _scores(attributes, gold, predictions['value'])
  report['threshold_sweep'] = threshold_sweep(gold, predictions)
  report['reliability'] = reliability(gold, predictions)
  return report


def evaluate_model(model_uri: str, titles, attributes, gold, batch_size: int, precision: str,
                   runtime: str = 'tensorflow') -> Dict:
  return evaluate_model_with_predictions(model_uri, titles, attributes, gold, batch_size, precision, runtime)[0]


def evaluate_model_with_predictions(model_uri: str, titles, attributes, gold, batch_size: int,
                                    precision: str, runtime: str = 'tensorflow') -> Tuple[Dict, Dict[str, np.ndarray]]:
  """The report and the model's per-triple predictions (inference.predict's columns), served
  by the runtime at the precision."""
  predictions = inference.predict(inference.load(model_uri, precision, runtime), titles, attributes, batch_size)
  report = evaluate_predictions(attributes, gold, predictions)
  report['examples'] = len(titles)
  return report, predictions


def markdown_table(report: Dict, attributes=None) -> str:
  """P/R/F1 (in %) overall and per attribute, with the number of triples."""
  lines = ['| attribute | triples | P | R | F1 |', '|---|---:|---:|---:|---:|']
  rows = [('**overall**', report['overall'])]
  per_attribute = report['per_attribute']
  for attribute in (attributes or sorted(per_attribute, key=lambda a: -per_attribute[a]['total'])):
    if attribute in per_attribute:
      rows.append((attribute, per_attribute[attribute]))
  for name, c in rows:
    lines.append(f"| {name} | {c['total']} | {100 * c['precision']:.1f} | {100 * c['recall']:.1f} "
                 f"| {100 * c['f1']:.1f} |")
  return '\n'.join(lines)


def evaluate_triples_file(path: str, model_dir: str, report_dir: str, precision: str,
                          batch_size: int, runtime: str = 'tensorflow') -> Dict:
  """Scores a model on a triples file (local or gs://); malformed lines are listed with
  their numbers. Writes metrics.json, metrics.md and predictions.jsonl (one answer per
  valid triple, in file order: what error analysis and evaluation/significance.py read)."""
  titles, attributes, gold, malformed = [], [], [], []
  for number, parsed, text in triples.read_triples(path):
    if isinstance(parsed, str):
      malformed.append({'line': number, 'reason': parsed, 'text': text[:200]})
    else:
      titles.append(parsed.title)
      attributes.append(parsed.attribute)
      gold.append(parsed.value)
  for bad in malformed[:20]:
    log.warning('%s:%d: %s', path, bad['line'], bad['reason'])
  if malformed:
    log.warning('%d malformed line(s) skipped; the first 20 are listed above', len(malformed))
  if not titles:
    raise ValueError(f'{path}: no valid triples')
  report, predictions = evaluate_model_with_predictions(model_dir, titles, attributes, gold,
                                                        batch_size, precision, runtime)
  report.update({'model': model_dir, 'triples': path, 'precision': precision, 'runtime': runtime,
                 'malformed_lines': malformed})
  tf.io.gfile.makedirs(report_dir)
  with tf.io.gfile.GFile(os.path.join(report_dir, 'predictions.jsonl'), 'w') as f:
    for title, attribute, value, answer, confidence in zip(titles, attributes, gold, predictions['value'],
                                                           predictions['confidence']):
      f.write(json.dumps({'title': title, 'attribute': attribute, 'gold': value, 'value': answer,
                          'confidence': float(confidence)}, ensure_ascii=False) + '\n')
  with tf.io.gfile.GFile(os.path.join(report_dir, 'metrics.json'), 'w') as f:
    json.dump(report, f, indent=2)
  with tf.io.gfile.GFile(os.path.join(report_dir, 'metrics.md'), 'w') as f:
    f.write(f'# Exact match of {model_dir}\n\non `{path}` ({len(titles)} triples)\n\n'
            f'{markdown_table(report)}\n')
  return report
