"""Fill an attribute only as far as its precision on the eval split allows.

The gate keeps, for each attribute, every value the model predicted on the eval split with
its confidence and whether it was right (fill_evidence); the catalog step then gives each
attribute the lowest threshold whose precision reaches the owner's target, judged by the
lower bound of a Wilson score interval rather than the point estimate, so twenty right
answers out of twenty do not pass for 98%. An attribute that cannot reach its target on the
eval split gets no threshold: it fills nothing, and its values go to the review queue.
"""
import json
import math
import os
from statistics import NormalDist
from typing import Dict, List, Optional, Sequence

from model import exact_match

EVIDENCE_FILE = 'fill_evidence.json'
BASELINE_EVIDENCE_FILE = 'baseline_fill_evidence.json'
# One-sided: the bound below which the true precision lies with this probability at most.
BOUND_LEVEL = 0.95
_Z = NormalDist().inv_cdf(BOUND_LEVEL)
NEEDS_THE_GATE = ("--target-precision and --attribute-precision need the gate's scores of the model on "
                  'the eval split; a model given with --model has none (fill with the newest blessed '
                  'model: --enrich-only without --model, or run the training pipeline)')


def fill_evidence(attributes: Sequence[str], gold, values, confidences) -> Dict[str, dict]:
  """{attribute: {'gold_values': triples with a value, 'fills': [[confidence, right], ...]}}
  of a model's answers to the eval split: a fill is a predicted value, right when it is the
  gold value (model/exact_match.py), wrong when gold is another value or none."""
  evidence: Dict[str, dict] = {}
  for attribute, g, value, confidence in zip(attributes, gold, values, confidences):
    entry = evidence.setdefault(attribute, {'gold_values': 0, 'fills': []})
    entry['gold_values'] += bool(exact_match.gold_forms(g))
    if exact_match.normalize(value):
      entry['fills'].append([round(float(confidence), 6), int(exact_match.same_value(value, g))])
  return evidence


def wilson_lower_bound(right: int, n: int, level: float = BOUND_LEVEL) -> float:
  """Lower end of the one-sided Wilson score interval of a proportion right/n (0 when n = 0)."""
  if n == 0:
    return 0.0
  z = _Z if level == BOUND_LEVEL else NormalDist().inv_cdf(level)
  p = right / n
  centre = p + z * z / (2 * n)
  spread = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
  return max(0.0, (centre - spread) / (1 + z * z / n))


def curve(fills: Sequence[Sequence[float]], gold_values: int) -> List[dict]:
  """For each distinct confidence t, from the highest down: the fills at or above t, how
  many were right, precision, its Wilson lower bound and recall."""
  points, right, n = [], 0, 0
  ordered = sorted(fills, key=lambda f: -f[0])
  for i, (confidence, is_right) in enumerate(ordered):
    right, n = right + is_right, n + 1
    if i + 1 < len(ordered) and ordered[i + 1][0] == confidence:
      continue   # equal confidences pass or fail a threshold together
    points.append({'threshold': confidence, 'fills': n, 'right': right, 'precision': right / n,
                   'lower_bound': wilson_lower_bound(right, n),
                   'recall': right / gold_values if gold_values else 0.0})
  return points


def choose_threshold(entry: dict, target: float) -> dict:
  """The lowest confidence threshold whose fills' precision on the eval split has its lower
  bound at or above target (entry: one attribute of fill_evidence). threshold None: no
  threshold reaches it, the attribute fills nothing."""
  points = curve(entry['fills'], entry['gold_values'])
  reaching = [p for p in points if p['lower_bound'] >= target]
  chosen = reaching[-1] if reaching else None
  return {'target': target, 'threshold': chosen['threshold'] if chosen else None,
          'eval_fills': chosen['fills'] if chosen else 0,
          'expected_precision': chosen['precision'] if chosen else None,
          'lower_bound': chosen['lower_bound'] if chosen else None,
          'recall': chosen['recall'] if chosen else 0.0,
          'eval_gold_values': entry['gold_values'], 'curve': points}


def thresholds(evidence: Dict[str, dict], targets: Dict[str, float], attributes: Sequence[str]) -> Dict[str, dict]:
  """choose_threshold for each attribute with a target (targets: {attribute or '*': P}).
  An attribute the eval split never asked has no evidence: it fills nothing."""
  chosen = {}
  for attribute in attributes:
    target = targets.get(attribute, targets.get('*'))
    if target is not None:
      chosen[attribute] = choose_threshold(evidence.get(attribute, {'gold_values': 0, 'fills': []}), target)
  return chosen


def parse_targets(target_precision: Optional[float], attribute_precision: str,
                  attributes: Optional[Sequence[str]] = None) -> Dict[str, float]:
  """{attribute: P, '*': P for the rest} from --target-precision and --attribute-precision
  ('Brand=0.98,Material=0.9'); errors name the flag and the entry."""
  targets = {}
  if target_precision is not None:
    targets['*'] = _check(target_precision, '--target-precision')
  for entry in filter(None, (e.strip() for e in (attribute_precision or '').split(','))):
    attribute, sep, value = entry.rpartition('=')
    if not sep or not attribute.strip():
      raise ValueError(f"--attribute-precision: '{entry}' is not ATTRIBUTE=P")
    try:
      number = float(value)
    except ValueError:
      raise ValueError(f"--attribute-precision: '{entry}': '{value}' is not a number") from None
    attribute = attribute.strip()
    if attributes is not None and attribute not in attributes:
      raise ValueError(f"--attribute-precision: '{attribute}' is not a target attribute "
                       f'({", ".join(sorted(attributes))})')
    targets[attribute] = _check(number, f'--attribute-precision {attribute}')
  return targets


def _check(target: float, flag: str) -> float:
  if not 0 < target <= 1:
    raise ValueError(f'{flag} must be in (0, 1], got {target}')
  return float(target)


def write_evidence(directory: str, name: str, evidence: Dict[str, dict]):
  import tensorflow as tf
  with tf.io.gfile.GFile(os.path.join(directory, name), 'w') as f:
    json.dump(evidence, f)


def read_evidence(directory: str, name: str = EVIDENCE_FILE) -> Optional[Dict[str, dict]]:
  import tensorflow as tf
  path = os.path.join(directory, name)
  if not tf.io.gfile.exists(path):
    return None
  with tf.io.gfile.GFile(path) as f:
    return json.load(f)
