"""ExactMatchEvaluator: the model gate (evaluation/gate.py does the scoring and the decision).

A custom component rather than TFX's Evaluator because the metric compares extracted
strings (model/exact_match.py), and TFMA metrics work on numeric labels and predictions.
Its outputs keep the Evaluator's contract, so Pusher, BulkInferrer and the
latest-blessed-model resolver use them unchanged: a ModelBlessing with the 'blessed'
property and a BLESSED / NOT_BLESSED file, and a ModelEvaluation holding metrics.json. The
blessing also holds the fill evidence of the model and of the last blessed one (each
attribute's eval-split fills with their confidence and whether they were right), from which
the catalog step sets per-attribute thresholds at the owner's precision target."""
import json
import logging
import os

import tensorflow as tf
from tfx.dsl.component.experimental.annotations import InputArtifact, OutputArtifact, Parameter
from tfx.dsl.component.experimental.decorators import component
from tfx.types import standard_artifacts

from evaluation import gate, precision_targets
from serving import serving_choice

log = logging.getLogger(__name__)


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
    confidence_level: Parameter[float],
    baseline_model: InputArtifact[standard_artifacts.Model] = None,
):
  """Blesses the model when its eval-split F1 passes min_f1 and does not regress.
  runtime, precision: what bulk inference will serve, so the gate scores what is served;
  both 'auto': the gate chooses (serving/serving_choice.py) and the blessing says what."""
  metrics, evidence = gate.evaluate(examples.uri, model.uri, baseline_model.uri if baseline_model is not None else None,
                          min_f1, max_f1_drop, batch_size, precision, runtime, confidence_level)
  with tf.io.gfile.GFile(os.path.join(evaluation.uri, gate.METRICS_FILE), 'w') as f:
    json.dump(metrics, f, indent=2)
  blessed, reason = metrics['blessed'], metrics['reason']
  marker = 'BLESSED' if blessed else 'NOT_BLESSED'
  with tf.io.gfile.GFile(os.path.join(blessing.uri, marker), 'w') as f:
    f.write(reason)
  precision_targets.write_evidence(blessing.uri, precision_targets.EVIDENCE_FILE, evidence['model'])
  if 'baseline' in evidence:
    precision_targets.write_evidence(blessing.uri, precision_targets.BASELINE_EVIDENCE_FILE, evidence['baseline'])
  blessing.set_int_custom_property('blessed', int(blessed))
  blessing.set_string_custom_property('reason', reason)
  for key in serving_choice.BLESSING_PROPERTIES:
    blessing.set_string_custom_property(key, metrics['serving'][key])
  blessing.set_string_custom_property(serving_choice.REASON_PROPERTY, metrics['serving']['reason'])
  blessing.set_string_custom_property('current_model', model.uri)
  blessing.set_int_custom_property('current_model_id', model.id)
  if baseline_model is not None:
    blessing.set_string_custom_property('baseline_model', baseline_model.uri)
    blessing.set_int_custom_property('baseline_model_id', baseline_model.id)
  log.info('%s: %s', marker, reason)
