"""The model gate: exact-match F1 on the eval split, against a threshold and the last
blessed model.

A custom component rather than TFX's Evaluator because the metric compares extracted
strings (model/exact_match.py), and TFMA metrics work on numeric labels and
predictions. Its outputs keep the Evaluator's contract, so Pusher, BulkInferrer and
the latest-blessed-model resolver use them unchanged: a ModelBlessing with the
'blessed' property and a BLESSED / NOT_BLESSED file, and a ModelEvaluation holding
metrics.json (overall, per attribute, threshold sweep and reliability table, for this
model and the baseline).
"""
import json
import logging
import os
from typing import Optional

import tensorflow as tf
from tfx.dsl.component.experimental.annotations import InputArtifact, OutputArtifact, Parameter
from tfx.dsl.component.experimental.decorators import component
from tfx.types import standard_artifacts

from components import splits, triples
from components.artifacts import read_json
from components.offline_evaluation import evaluate_model
from components.serving_contract import TRAINING_FILE, NotExported
from components.triples_example_gen import read_summary

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


@component
def ExactMatchEvaluator(
    examples: InputArtifact[standard_artifacts.Examples],
    model: InputArtifact[standard_artifacts.Model],
    blessing: OutputArtifact[standard_artifacts.ModelBlessing],
    evaluation: OutputArtifact[standard_artifacts.ModelEvaluation],
    min_f1: Parameter[float],
    max_f1_drop: Parameter[float],
    batch_size: Parameter[int],
    precision: Parameter[str],
    runtime: Parameter[str],
    baseline_model: InputArtifact[standard_artifacts.Model] = None,
):
  """Blesses the model when its eval-split F1 passes min_f1 and does not regress.
  runtime, precision: what bulk inference will serve, so the gate scores what is served."""
  titles, attributes, gold = map(list, zip(*triples.read_split(examples.uri, splits.EVAL)))
  metrics = {'examples': len(titles),
             'model': evaluate_model(model.uri, titles, attributes, gold, batch_size, precision, runtime)}
  log.debug('eval split: %s', json.dumps({k: round(v, 4) for k, v in metrics['model']['overall'].items()}))
  baseline_f1 = None
  if baseline_model is not None:
    try:
      metrics['baseline'] = evaluate_model(baseline_model.uri, titles, attributes, gold, batch_size, precision,
                                           runtime)
    except NotExported as error:   # blessed before it had that runtime: scored as it was served
      log.info('baseline model scored with TensorFlow: %s', error)
      metrics['baseline'] = evaluate_model(baseline_model.uri, titles, attributes, gold, batch_size, precision)
    baseline_f1 = metrics['baseline']['overall']['f1']
  blessed, reason = decide(metrics['model']['overall']['f1'], baseline_f1, min_f1, max_f1_drop,
                           steps_trained(model.uri))
  metrics.update({'precision': precision, 'runtime': runtime, 'blessed': blessed, 'reason': reason, 'min_f1': min_f1,
                  'max_f1_drop': max_f1_drop, 'sources': triple_sources(examples.uri),
                  **mining_tables(examples.uri),
                  'adaptation': training_record(model.uri).get('adaptation')})
  if metrics['sources']:
    log.info('triples by source: %s', '; '.join(
        f'{split} ' + ', '.join(f'{k} {v}' for k, v in counts.items())
        for split, counts in metrics['sources'].items()))
  with tf.io.gfile.GFile(os.path.join(evaluation.uri, METRICS_FILE), 'w') as f:
    json.dump(metrics, f, indent=2)
  marker = 'BLESSED' if blessed else 'NOT_BLESSED'
  with tf.io.gfile.GFile(os.path.join(blessing.uri, marker), 'w') as f:
    f.write(reason)
  blessing.set_int_custom_property('blessed', int(blessed))
  blessing.set_string_custom_property('reason', reason)
  blessing.set_string_custom_property('current_model', model.uri)
  blessing.set_int_custom_property('current_model_id', model.id)
  if baseline_model is not None:
    blessing.set_string_custom_property('baseline_model', baseline_model.uri)
    blessing.set_int_custom_property('baseline_model_id', baseline_model.id)
  log.info('%s: %s', marker, reason)
