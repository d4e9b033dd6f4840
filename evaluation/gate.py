"""The model gate: exact-match F1 on the eval split, against a threshold and the last
blessed model. metrics.json holds overall, per attribute, threshold sweep and reliability
table, for this model and the baseline (components/exact_match_evaluator.py writes it).
"""
import json
import logging
from typing import Optional


from catalog import splits, triples
from catalog.files import read_json
from evaluation.offline import evaluate_model
from serving.contract import TRAINING_FILE, NotExported
from catalog.ingest import read_summary

log = logging.getLogger(__name__)

METRICS_FILE = 'metrics.json'


def decide(f1: float, baseline_f1: Optional[float], min_f1: float, max_f1_drop: float,
           steps_trained: Optional[int] = None):
  """(blessed, reason) for a candidate F1 given the gate's settings (steps_trained: None
  when the model does not say, as models exported before it did)."""
  if steps_trained == 0:
    return False, 'the model was trained 0 steps'
  if f1 < min_f1:
    return False, f'exact-match F1 {f1:.4f} is below the threshold {min_f1:.4f}'
  if baseline_f1 is not None and f1 < baseline_f1 - max_f1_drop:
    return False, (f'exact-match F1 {f1:.4f} is worse than the last blessed model '
                   f'({baseline_f1:.4f}) by more than {max_f1_drop:.4f}')
  against = f'; last blessed model {baseline_f1:.4f}' if baseline_f1 is not None else ''
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
             max_f1_drop: float, batch_size: int, precision: str, runtime: str) -> dict:
  """metrics.json of the gate: the model (and the last blessed one, when given) scored on the
  eval split as bulk inference serves it, the decision ('blessed', 'reason'), where the
  triples came from and what the catalog's known values gave."""
  titles, attributes, gold = map(list, zip(*triples.read_split(examples_uri, splits.EVAL)))
  metrics = {'examples': len(titles),
             'model': evaluate_model(model_uri, titles, attributes, gold, batch_size, precision, runtime)}
  log.debug('eval split: %s', json.dumps({k: round(v, 4) for k, v in metrics['model']['overall'].items()}))
  baseline_f1 = None
  if baseline_uri is not None:
    try:
      metrics['baseline'] = evaluate_model(baseline_uri, titles, attributes, gold, batch_size, precision,
                                           runtime)
    except NotExported as error:   # blessed before it had that runtime: scored as it was served
      log.info('baseline model scored with TensorFlow: %s', error)
      metrics['baseline'] = evaluate_model(baseline_uri, titles, attributes, gold, batch_size, precision)
    baseline_f1 = metrics['baseline']['overall']['f1']
  blessed, reason = decide(metrics['model']['overall']['f1'], baseline_f1, min_f1, max_f1_drop,
                           steps_trained(model_uri))
  metrics.update({'precision': precision, 'runtime': runtime, 'blessed': blessed, 'reason': reason,
                  'min_f1': min_f1, 'max_f1_drop': max_f1_drop, 'sources': triple_sources(examples_uri),
                  **mining_tables(examples_uri),
                  'adaptation': training_record(model_uri).get('adaptation')})
  if metrics['sources']:
    log.info('triples by source: %s', '; '.join(
        f'{split} ' + ', '.join(f'{k} {v}' for k, v in counts.items())
        for split, counts in metrics['sources'].items()))
  return metrics
