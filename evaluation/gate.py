"""The model gate: exact-match F1 on the eval split, against a threshold and the last
blessed model. metrics.json holds overall, per attribute, threshold sweep and reliability
table, for this model and the baseline (components/exact_match_evaluator.py writes it).
"""
import json
import logging
from typing import Optional, Tuple


from catalog import splits, triples
from catalog.files import read_json
from evaluation import precision_targets, significance
from evaluation.offline import evaluate_model_with_predictions
from serving import serving_choice
from serving.contract import TRAINING_FILE, NotExported
from catalog.ingest import read_summary

log = logging.getLogger(__name__)

METRICS_FILE = 'metrics.json'


def decide(f1: float, baseline_f1: Optional[float], min_f1: float, max_f1_drop: float,
           steps_trained: Optional[int] = None, difference: Optional[dict] = None):
  """(blessed, reason) for a candidate F1 given the gate's settings. A candidate below the
  last blessed model by more than max_f1_drop is refused only when the drop is not noise:
  when difference (significance.paired_f1_difference_of_codes of candidate against
  baseline, F1 points) has its whole interval below zero; without one, the drop alone
  decides. steps_trained: None when the model does not say, as older exports."""
  if steps_trained == 0:
    return False, 'the model was trained 0 steps'
  if f1 < min_f1:
    return False, f'exact-match F1 {f1:.4f} is below the threshold {min_f1:.4f}'
  against = ''
  if baseline_f1 is not None:
    interval = (f' (Δ F1 {difference["difference"]:+.1f} points, {100 * difference["level"]:.0f}% interval '
                f'[{difference["low"]:+.1f}, {difference["high"]:+.1f}], paired bootstrap over '
                f'{difference["triples"]} eval triples)' if difference else '')
    if f1 < baseline_f1 - max_f1_drop:
      if difference is None or difference['high'] < 0:
        return False, (f'exact-match F1 {f1:.4f} is worse than the last blessed model '
                       f'({baseline_f1:.4f}) by more than {max_f1_drop:.4f}{interval}')
      return True, (f'exact-match F1 {f1:.4f} >= {min_f1:.4f}; below the last blessed model '
                    f'({baseline_f1:.4f}) by more than {max_f1_drop:.4f}, but within noise{interval}')
    against = f'; last blessed model {baseline_f1:.4f}{interval}'
  return True, f'exact-match F1 {f1:.4f} >= {min_f1:.4f}{against}'


def triple_sources(examples_uri: str) -> dict:
  """{split: {'labelled': n, 'mined': m}} from the ingest summary ({} when it has none)."""
  summary = read_summary(examples_uri) or {}
  return {split: summary[f'{split}_sources'] for split in (splits.TRAIN, splits.EVAL)
          if f'{split}_sources' in summary}


def mining_tables(examples_uri: str) -> dict:
  """{'mined': {attribute: outcomes}, 'reviewed': …} from the ingest summary, for the report."""
  summary = read_summary(examples_uri) or {}
  return {kind: summary.get(kind) or {} for kind in ('mined', 'reviewed')}


def training_record(model_uri: str) -> dict:
  """What the Trainer wrote of how it trained ({} for a model without it): steps, and the
  domain adaptation of its checkpoint (teacher metrics included)."""
  return read_json(model_uri, TRAINING_FILE) or {}


def steps_trained(model_uri: str) -> Optional[int]:
  return training_record(model_uri).get('steps')


def evaluate(examples_uri: str, model_uri: str, baseline_uri: Optional[str], min_f1: float,
             max_f1_drop: float, batch_size: int, precision: str, runtime: str,
             confidence_level: float = 0.95) -> Tuple[dict, dict]:
  """metrics.json of the gate: the model (and the last blessed one, when given) scored on the
  eval split as bulk inference serves it, the decision ('blessed', 'reason'), where the
  triples came from and what the catalog's known values gave; and the fill evidence
  (evaluation/precision_targets.py) of each: {'model': ..., 'baseline': ...}. runtime and
  precision 'auto': the serving is chosen here (choose_serving) and recorded in
  metrics['serving']."""
  titles, attributes, gold = map(list, zip(*triples.read_split(examples_uri, splits.EVAL)))
  named = serving_choice.explicit(runtime, precision)
  if named is None:
    chosen, f1, report, answers = choose_serving(model_uri, titles, attributes, gold, batch_size)
    runtime, precision = chosen.runtime, chosen.precision
    serving = {'runtime': runtime, 'precision': precision, 'reason': chosen.reason, 'chosen_by': 'gate',
               'f1': {f'{r} {p}': value for (r, p), value in f1.items()}}
  else:
    runtime, precision = named
    report, answers = evaluate_model_with_predictions(model_uri, titles, attributes, gold, batch_size, precision,
                                                      runtime)
    serving = {'runtime': runtime, 'precision': precision, 'reason': 'named by --runtime/--precision',
               'chosen_by': 'flags'}
  metrics = {'examples': len(titles), 'model': report, 'serving': serving}
  evidence = {'model': precision_targets.fill_evidence(attributes, gold, answers['value'], answers['confidence'])}
  log.debug('eval split: %s', json.dumps({k: round(v, 4) for k, v in metrics['model']['overall'].items()}))
  baseline_f1 = difference = None
  if baseline_uri is not None:
    try:
      metrics['baseline'], baseline_answers = evaluate_model_with_predictions(
          baseline_uri, titles, attributes, gold, batch_size, precision, runtime)
    except NotExported as error:   # blessed before it had that runtime: scored as it was served
      log.info('baseline model scored with TensorFlow: %s', error)
      metrics['baseline'], baseline_answers = evaluate_model_with_predictions(
          baseline_uri, titles, attributes, gold, batch_size, precision)
    baseline_f1 = metrics['baseline']['overall']['f1']
    evidence['baseline'] = precision_targets.fill_evidence(attributes, gold, baseline_answers['value'],
                                                           baseline_answers['confidence'])
    # Both models' answers to the same triples, resampled together: is a drop beyond noise?
    difference = metrics['difference'] = significance.paired_f1_difference_of_codes(
        significance.outcome_codes(gold, answers['value']),
        significance.outcome_codes(gold, baseline_answers['value']), confidence_level=confidence_level)
  blessed, reason = decide(metrics['model']['overall']['f1'], baseline_f1, min_f1, max_f1_drop,
                           steps_trained(model_uri), difference)
  metrics.update({'precision': precision, 'runtime': runtime, 'blessed': blessed, 'reason': reason,
                  'min_f1': min_f1, 'max_f1_drop': max_f1_drop, 'sources': triple_sources(examples_uri),
                  **mining_tables(examples_uri),
                  'adaptation': training_record(model_uri).get('adaptation')})
  if metrics['sources']:
    log.info('triples by source: %s', '; '.join(
        f'{split} ' + ', '.join(f'{k} {v}' for k, v in counts.items())
        for split, counts in metrics['sources'].items()))
  return metrics, evidence


def choose_serving(model_uri, titles, attributes, gold, batch_size):
  """(serving_choice.Serving, {(runtime, precision): F1}, report, answers): the model scored
  in TensorFlow float32 and, on x86 CPUs, in ONNX Runtime int8; the faster one when its F1
  is within tolerance."""
  scored = {serving_choice.REFERENCE: evaluate_model_with_predictions(
      model_uri, titles, attributes, gold, batch_size, serving_choice.REFERENCE[1], serving_choice.REFERENCE[0])}
  if serving_choice.is_x86():
    runtime, precision = serving_choice.FAST
    try:
      scored[serving_choice.FAST] = evaluate_model_with_predictions(
          model_uri, titles, attributes, gold, batch_size, precision, runtime)
    except NotExported as error:   # SUOpenTag, or exported before ONNX serving
      log.info('serving: ONNX int8 not measured: %s', error)
  f1 = {serving: report['overall']['f1'] for serving, (report, _) in scored.items()}
  chosen = serving_choice.by_f1(f1)
  log.info('serving: %s %s (%s)', chosen.runtime, chosen.precision, chosen.reason)
  return (chosen, f1, *scored[(chosen.runtime, chosen.precision)])
