"""A WDC-PAVE run's catalog filled again from its own answers at other value thresholds, and
where its gold values were lost: a diagnostic, not a tuning step.

  .venv/bin/python -m benchmarks.wdc_pave_refill --pipeline-root ROOT
  .venv/bin/python -m benchmarks.wdc_pave_refill --pipeline-root ROOT --thresholds 0.3,0.4,0.5 --json OUT.json

Bulk inference keeps each question's best span, also where "no value" won (span_text), and
its p(value). Filling again means: for each threshold, a trained attribute's answer is its
best span when p(value) reaches the threshold; the catalog writer's own fill_row (the
catalog's spelling and one value, one attribute) fills the rows; benchmarks/wdc_pave_score
scores the test offers. The run's own threshold reproduces its fills, up to the user alias
table and the per-attribute precision thresholds, which this does not apply.

The pipeline tunes its threshold on the dev slice of the train split. Choosing one here, on
the test offers, would tune on test: the sweep shows how much F1 the threshold holds, not
which to use.

Each test cell with a gold value, at the run's own threshold, is one of: filled right, filled
wrong, the right span withheld (p(value) below the threshold), a wrong span withheld, or
claimed (found, but another attribute of the row holds the same value).
"""
import argparse
import collections
import glob
import json
import os
from typing import Dict, Iterable, List, Sequence

import pyarrow.parquet as pq

from benchmarks import wdc_pave_catalog as wdc
from benchmarks import wdc_pave_score
from catalog import questions as cq
from catalog.columns import output_columns
from catalog import value_claims, vocabulary, writer
from model import exact_match

LOSSES = ('filled right', 'filled wrong', 'right span withheld', 'wrong span withheld', 'claimed')
ANSWER_OUTPUTS = ('value', 'span_text', 'value_prob', 'attribute_seen')
TOP = 12   # attributes listed by gold values lost


def latest(root: str, *parts: str) -> str:
  """The newest execution's folder of an artifact (the highest number)."""
  runs = glob.glob(os.path.join(root, *parts, '*'))
  if not runs:
    raise FileNotFoundError(f'no {"/".join(parts)} under {root}')
  return max(runs, key=lambda p: int(os.path.basename(p)))


def read_answers(inference_dir: str) -> List[dict]:
  """One dict per (product, question) of BulkInferrer's prediction logs: product_id,
  attribute, known (the known value of an alias probe, else None) and ANSWER_OUTPUTS."""
  import tensorflow as tf
  from tensorflow_serving.apis import prediction_log_pb2
  paths = sorted(glob.glob(os.path.join(inference_dir, 'prediction_logs-*')))
  if not paths:
    raise FileNotFoundError(f'no prediction_logs-* in {inference_dir}')
  answers = []
  for path in paths:
    for record in tf.data.TFRecordDataset(path, compression_type='GZIP' if path.endswith('.gz') else ''):
      log = prediction_log_pb2.PredictionLog.FromString(record.numpy())
      request, response = log.predict_log.request, log.predict_log.response
      outputs = {k: tf.make_ndarray(response.outputs[k]).reshape(-1) for k in ANSWER_OUTPUTS}
      for i, example in enumerate(tf.make_ndarray(request.inputs['examples']).reshape(-1)):
        features = tf.train.Example.FromString(example).features.feature
        probe = features[cq.KNOWN_VALUE].bytes_list.value if cq.KNOWN_VALUE in features else None
        answer = {'attribute': features['attribute'].bytes_list.value[0].decode('utf-8'),
                  'known': probe[0].decode('utf-8') if probe else None,
                  'value': outputs['value'][i].decode('utf-8'), 'span_text': outputs['span_text'][i].decode('utf-8'),
                  'value_prob': float(outputs['value_prob'][i]), 'attribute_seen': bool(outputs['attribute_seen'][i])}
        answers.extend(dict(answer, product_id=p.decode('utf-8')) for p in features[cq.ID].bytes_list.value)
  return answers


def value_at(answer: dict, threshold: float):
  """The value a question gives at this threshold: a trained attribute's best span when its
  p(value) reaches it; an attribute never trained on keeps the run's own decision."""
  if not answer['attribute_seen']:
    return answer['value'] or None
  if answer['value_prob'] < threshold:
    return None
  return answer['span_text'] or None


def refill(rows: Sequence[dict], answers: Iterable[dict], attributes: Sequence[str], threshold: float,
           words: vocabulary.Vocabulary, shared) -> List[dict]:
  """The rows filled by the writer's fill_row from the answers at this threshold."""
  by_product = collections.defaultdict(list)
  for a in answers:
    if a['known'] is None:
      by_product[a['product_id']].append((a['attribute'], value_at(a, threshold), a['value_prob'], None))
  filled = []
  for row in rows:
    keyed = (str(row[cq.ID]), {'rows': [row], 'answers': by_product.get(str(row[cq.ID]), [])})
    filled.extend(r for r in writer.fill_row(keyed, attributes, 'refill', words, writer.FillRules(),
                                             use_description=False, review=False, shared=shared)
                  if isinstance(r, dict))
  return filled


def losses(answers: Iterable[dict], filled_rows: Iterable[dict], offers: Dict[str, dict],
           threshold: float) -> Dict[tuple, Dict[str, int]]:
  """How the gold values of the test offers fared at this threshold: {(category, attribute):
  {loss: values}} (LOSSES)."""
  filled = {str(r[cq.ID]): r for r in filled_rows}
  counts = collections.defaultdict(lambda: collections.Counter({loss: 0 for loss in LOSSES}))
  for a in answers:
    offer = offers.get(a['product_id'])
    target = offer and offer['target_scores'].get(a['attribute'])
    forms = wdc.surface_forms(target) if target else None
    if a['known'] is not None or not forms:
      continue
    cell = filled[a['product_id']].get(output_columns(a['attribute'])[0])
    of = counts[(offer['category'], a['attribute'])]
    if wdc_pave_score.is_filled(cell):
      of['filled right' if wdc_pave_score.same_value(cell, forms) else 'filled wrong'] += 1
    elif value_at(a, threshold) is not None:
      of['claimed'] += 1
    else:
      of['right span withheld' if exact_match.same_value(a['span_text'], tuple(forms), True)
         else 'wrong span withheld'] += 1
  return {key: dict(c) for key, c in sorted(counts.items())}


def total(losses_by_attribute: Dict[tuple, Dict[str, int]]) -> Dict[str, int]:
  return {loss: sum(c[loss] for c in losses_by_attribute.values()) for loss in LOSSES}


def run_threshold(root: str) -> float:
  """The value threshold the run's Trainer chose (serving/contract.TUNING_FILE)."""
  from serving.contract import TUNING_FILE
  path = os.path.join(latest(root, 'Trainer', 'model_run'), TUNING_FILE)
  if not os.path.exists(path):
    raise FileNotFoundError(f'no {TUNING_FILE} in {os.path.dirname(path)}')
  with open(path, encoding='utf-8') as f:
    return float(json.load(f)['threshold'])


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument('--pipeline-root', required=True, help="the run's --pipeline-root")
  parser.add_argument('--thresholds', default='0.2,0.3,0.35,0.4,0.45,0.5,0.6',
                      help='comma-separated value thresholds to fill again at')
  parser.add_argument('--data-dir', default=wdc.DATA)
  parser.add_argument('--json', help='also write the report here')
  args = parser.parse_args(argv)
  try:
    thresholds = [float(t) for t in args.thresholds.split(',') if t.strip()]
    rows = pq.read_table(os.path.join(latest(args.pipeline_root, 'CatalogQuestionGen', 'catalog_rows'),
                                      'accepted')).to_pylist()
    answers = read_answers(latest(args.pipeline_root, 'CatalogBulkInferrer', 'inference_result'))
    own = run_threshold(args.pipeline_root)
    offers = {str(o['id']): o for o in wdc.read_offers(wdc.offers_file('test', 'raw', args.data_dir))}
  except (FileNotFoundError, ValueError) as error:
    raise SystemExit(f'wdc_pave_refill: {error}')
  attributes = sorted({a['attribute'] for a in answers})
  markers = frozenset()
  words = vocabulary.build(
      [kv for row in rows for kv in writer.known_values(row, attributes, markers)],
      [((a['attribute'], a['known'], a['value']), 1) for a in answers if a['known'] is not None and a['value']])
  shared = collections.Counter(pair for row in rows for pair in value_claims.shared_pairs(
      value_claims.known_keys(row, attributes, markers)))
  report = {'run_threshold': own, 'sweep': [], 'losses': None}
  print(f'{len(offers)} test offers; the run\'s own value threshold {own}\n')
  print('| threshold | F1 % | P % | R % | fills | n/a left empty % |\n|---:|---:|---:|---:|---:|---:|')
  for threshold in sorted(set(thresholds) | {own}):
    filled = refill(rows, answers, attributes, threshold, words, shared)
    overall = wdc_pave_score.score(filled, offers.values())['overall']
    report['sweep'].append({'threshold': threshold, **overall})
    mark = " (the run's)" if threshold == own else ''
    print(f'| {threshold}{mark} | {100 * overall["f1"]:.1f} | '
          f'{100 * overall["precision"]:.1f} | {100 * overall["recall"]:.1f} | {overall["fills"]} | '
          f'{wdc_pave_score._percent(overall["na_left_empty"])} |')
    if threshold == own:
      by_attribute = losses(answers, filled, offers, own)
  report['losses'] = total(by_attribute)
  report['losses_per_attribute'] = [{'category': c, 'attribute': a, **n} for (c, a), n in by_attribute.items()]
  print('\nGold values at the run\'s threshold, overall and the attributes with the most lost:\n')
  print('| category | attribute | ' + ' | '.join(LOSSES) + ' |\n|---|---|' + '---:|' * len(LOSSES))
  lost = lambda n: n['filled wrong'] + n['right span withheld'] + n['wrong span withheld'] + n['claimed']
  for (category, attribute), n in [(('overall', ''), report['losses'])] + sorted(
      by_attribute.items(), key=lambda kv: -lost(kv[1]))[:TOP]:
    print(f'| {category} | {attribute} | ' + ' | '.join(str(n[loss]) for loss in LOSSES) + ' |')
  if args.json:
    with open(args.json, 'w', encoding='utf-8') as f:
      json.dump(report, f, indent=2)
  return report


if __name__ == '__main__':
  main()
