"""report.md (with PNG plots) from the results JSON files that experiments.py wrote."""
import glob
import json
import os
from collections import Counter

import numpy as np

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402

from benchmarks import outcomes  # noqa: E402

FOUR = ['Brand Name', 'Material', 'Color', 'Category']
ABLATIONS = [('QA', 0.0, 0.0), ('QA+CLS', 0.0, 0.5), ('QA+MLM', 0.5, 0.0), ('AVEQA', 0.5, 0.5)]
HF = 'HF extractive-QA recipe'
SUOPENTAG = 'SUOpenTag'
SPLITS = ('random', 'grouped', 'zero_shot')
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PAPER_OVERALL_F1 = {'AVEQA (paper, full AE-pub, BERT-base)': 85.01,
                    'SUOpenTag (paper)': 74.92}


def _load(results_dir):
  results = {}
  for path in sorted(glob.glob(os.path.join(results_dir, '*.json'))):
    with open(path) as f:
      results[os.path.basename(path)[:-len('.json')]] = json.load(f)
  return results


def model_label(result):
  """The paper's name for a run: SUOpenTag, or by its (alpha, beta) QA, QA+CLS, QA+MLM or AVEQA."""
  if result.get('model_type') == 'suopentag':
    return SUOPENTAG
  for label, alpha, beta in ABLATIONS:
    if (result['alpha'] > 0) == (alpha > 0) and (result['beta'] > 0) == (beta > 0):
      return label


def _f1(result, attribute=None):
  block = result['model']['overall'] if attribute is None else result['model']['per_attribute'].get(attribute)
  return '–' if block is None else f"{100 * block['f1']:.1f}"


def _pr(result):
  o = result['model']['overall']
  return f"{100 * o['precision']:.1f} / {100 * o['recall']:.1f}"


def _hf_runs(results, name):
  """The HF recipe's results on a run's split: seed 0 at the budget's epochs first, then
  other seeds and epochs."""
  return sorted((k for k in results if k == f'{name}.hf-squad' or k.startswith(f'{name}.hf-squad-')),
                key=lambda k: (k != f'{name}.hf-squad', k))


def _hf_label(result, key):
  """HF, with the seed and epochs where they are not the baseline's."""
  extra = ([f"seed {result['seed']}"] if '-seed' in key else []) + (
      [f"{result['epochs']:g} epochs"] if key.endswith('ep') and 'epochs' in result else [])
  return HF + (', ' + ', '.join(extra) if extra else '')


def _suopentag_runs(results, name):
  """SUOpenTag runs on the same split as the run name (the same rule, seed and eval triples)."""
  if model_label(results[name]) == SUOPENTAG:
    return []
  same = lambda r: r['split'] == results[name]['split'] and r['eval_examples'] == results[name]['eval_examples']
  return sorted(k for k, r in results.items() if '.' not in k and model_label(r) == SUOPENTAG and same(r))


def _comparison(results, name, attributes, paper_column):
  """F1 per method side by side; the paper's overall numbers (the only ones we have for
  AE-pub) in their own columns on the random split."""
  methods = ([(name, f'{model_label(results[name])} (ours)')]
             + [(key, f"{SUOPENTAG} (ours, {results[key]['budget']['epochs']:g} epochs)")
                for key in _suopentag_runs(results, name)]
             + [(key, _hf_label(results[key], key)) for key in _hf_runs(results, name)]
             + [(f'{name}.dictionary', 'dictionary baseline')])
  methods = [(key, label) for key, label in methods if key in results]
  paper = list(PAPER_OVERALL_F1.items()) if paper_column else []
  lines = ['| attribute | triples | ' + ' | '.join(label for _, label in methods)
           + ''.join(f' | {label}' for label, _ in paper) + ' |',
           '|---|---:|' + '---:|' * (len(methods) + len(paper))]
  main = results[name]['model']
  lines.append('| **overall F1** | ' + str(main['overall']['total']) + ' | '
               + ' | '.join(_f1(results[k]) for k, _ in methods)
               + ''.join(f' | {value}' for _, value in paper) + ' |')
  lines.append('| overall P / R | | ' + ' | '.join(_pr(results[k]) for k, _ in methods)
               + ' | –' * len(paper) + ' |')
  for attribute in attributes:
    count = main['per_attribute'].get(attribute, {}).get('total', 0)
    lines.append(f'| {attribute} | {count} | ' + ' | '.join(_f1(results[k], attribute) for k, _ in methods)
                 + ' | –' * len(paper) + ' |')
  if results[name]['split'].get('rule') == 'zero_shot':
    means = [_zero_shot_mean(results[k]) for k, _ in methods]
    lines.append('| mean of the held-out attributes | | '
                 + ' | '.join('–' if m is None else f'{m:.1f}' for m in means) + ' |')
  return '\n'.join(lines)


def _plots(results_dir, name, result):
  sweep = result['model']['threshold_sweep']
  fig, ax = plt.subplots(figsize=(5, 3.5))
  for key in ('precision', 'recall', 'f1'):
    ax.plot([r['threshold'] for r in sweep], [100 * r[key] for r in sweep], label=key)
  ax.set_xlabel('value threshold: answer when p(value) >= t'), ax.set_ylabel('%'), ax.legend(), ax.grid(alpha=.3)
  ax.set_title(f'{name}: threshold sweep')
  sweep_png = f'{name}.threshold.png'
  fig.tight_layout(), fig.savefig(os.path.join(results_dir, sweep_png), dpi=110), plt.close(fig)
  bins = result['model']['reliability']
  fig, ax = plt.subplots(figsize=(4, 4))
  ax.plot([0, 1], [0, 1], '--', color='grey', label='perfect calibration')
  ax.plot([b['mean_confidence'] for b in bins], [b['accuracy'] for b in bins], 'o-', label='model')
  ax.set_xlabel('confidence'), ax.set_ylabel('share right'), ax.legend(), ax.grid(alpha=.3)
  ax.set_title(f'{name}: reliability')
  reliability_png = f'{name}.reliability.png'
  fig.tight_layout(), fig.savefig(os.path.join(results_dir, reliability_png), dpi=110), plt.close(fig)
  return sweep_png, reliability_png


def _codes(results_dir, results, key):
  """{triple digest: outcome code} of a run (or an HF recipe's run) from its predictions on
  this machine, else from the outcomes kept in the repository (benchmarks/outcomes.py), else None."""
  answers = outcomes.answers_of_run(results_dir, key, results.get(key, {}))
  if answers:
    return outcomes.codes_of_answers(answers)
  return outcomes.read(outcomes.path_of(key))


def _difference(d):
  return f"{d['difference']:+.1f} [{d['low']:+.1f}, {d['high']:+.1f}]"


def _zero_shot_mean(result):
  per_attribute = result['model']['per_attribute']
  held_out = [a for a in result['split']['held_out_attributes'] if a in per_attribute]
  return 100 * float(np.mean([per_attribute[a]['f1'] for a in held_out])) if held_out else None


def _ablations(results_dir, results, runs):
  """Figure 3: each model's overall F1 per split (and the HF recipe's), the difference to
  AVEQA on the same split with its 95% interval, and a bar chart."""
  # Per split, the runs on its usual eval set (the eval size most runs share: not runs that
  # added mined triples), the newest of each model.
  by_split = {}
  for name, result in runs.items():
    by_split.setdefault(result['split'].get('rule'), []).append(name)
  newest_last = lambda name: os.path.getmtime(os.path.join(results_dir, f'{name}.json'))
  cells = {}
  for split, names in by_split.items():
    usual = Counter(runs[n]['eval_examples'] for n in names).most_common(1)[0][0]
    for name in sorted(names, key=newest_last):
      result = runs[name]
      if result['eval_examples'] != usual:
        continue
      cells[(model_label(result), split)] = (name, result)
      if f'{name}.hf-squad' in results and model_label(result) == 'AVEQA':
        cells[(HF, split)] = (f'{name}.hf-squad', results[f'{name}.hf-squad'])
  splits = [s for s in SPLITS if any(split == s for _, split in cells)]
  labels = [label for label in [a[0] for a in ABLATIONS] + [SUOPENTAG, HF] if any(l == label for l, _ in cells)]
  header = ['model'] + [f'{s} F1' for s in splits] + (['zero-shot mean of five'] if 'zero_shot' in splits else [])
  lines = ['| ' + ' | '.join(header) + ' |', '|---|' + '---:|' * (len(header) - 1)]
  reference = {}
  for split in splits:
    if ('AVEQA', split) in cells:
      name = cells[('AVEQA', split)][0]
      reference[split] = _codes(results_dir, results, name)
  for label in labels:
    row = [label]
    for split in splits:
      if (label, split) not in cells:
        row.append('–')
        continue
      name, result = cells[(label, split)]
      text = _f1(result)
      if label not in ('AVEQA', HF):
        d = outcomes.paired_difference(_codes(results_dir, results, name), reference.get(split))
        text += f' ({_difference(d)})' if d else ''
      row.append(text)
    if 'zero_shot' in splits:
      mean = _zero_shot_mean(cells[(label, 'zero_shot')][1]) if (label, 'zero_shot') in cells else None
      row.append('–' if mean is None else f'{mean:.1f}')
    lines.append('| ' + ' | '.join(row) + ' |')
  fig, ax = plt.subplots(figsize=(8, 3.5))
  width = 0.8 / len(labels)
  for i, label in enumerate(labels):
    heights = [100 * cells[(label, s)][1]['model']['overall']['f1'] if (label, s) in cells else 0 for s in splits]
    ax.bar(np.arange(len(splits)) + i * width, heights, width, label=label)
  ax.set_xticks(np.arange(len(splits)) + width * (len(labels) - 1) / 2, splits)
  ax.set_ylabel('exact-match F1 (%)'), ax.grid(axis='y', alpha=.3)
  ax.legend(fontsize=8, loc='upper left', bbox_to_anchor=(1, 1))
  ax.set_title('ablations (paper Figure 3)')
  fig.tight_layout(), fig.savefig(os.path.join(results_dir, 'ablations.png'), dpi=110), plt.close(fig)
  return (['## Ablations (paper Figure 3): overall F1', '',
           'In brackets: F1 minus AVEQA\'s on the same eval triples [95% paired-bootstrap interval, '
           'evaluation/significance.py].', ''] + lines + ['', '![ablations](ablations.png)', ''])


def write_report(results_dir):
  results = _load(results_dir)
  runs = {k: v for k, v in results.items() if '.' not in k}
  out = ['# AVEQA on AE-pub-21k: results', '',
         'AE-pub-21k is the 21,490-line part of AE-pub available here (see ../shared/data/SOURCES.md);',
         'the paper used the full 110k-line set and BERT-base, so its numbers are a reference, not a',
         'like-for-like comparison. Exact match, micro over triples; P/R/F1 in %.', '']
  for name, result in runs.items():
    rule = result['split'].get('rule')
    attributes = list(result['split']['held_out_attributes']) if rule == 'zero_shot' else FOUR
    out += [f'## {name}: {model_label(result)}', '',
            f"split: `{json.dumps(result['split'])}`; {result['train_examples']} train / "
            f"{result['eval_examples']} eval triples; alpha={result['alpha']} beta={result['beta']}; "
            f"budget `{json.dumps(result['budget'])}`; pipeline wall time {result['pipeline_wall_seconds']:.0f} s",
            f"command: `{result['command']}`", '', _comparison(results, name, attributes, rule == 'random'), '']
    for key in _hf_runs(results, name):
      d = outcomes.paired_difference(_codes(results_dir, results, name), _codes(results_dir, results, key))
      if d:
        which = _hf_label(results[key], key)[len(HF) + 2:] or 'seed 0'
        trained = results[key].get('trained_on')
        which += f', trained on {trained}' if trained and trained != 'cpu' else ''
        out += [f"F1 minus the HF recipe's ({which}) on the same {d['triples']} triples: {_difference(d)} "
                f"(95% interval, paired bootstrap over triples, {d['resamples']} resamples).", '']
    tuning = result.get('value_threshold')
    if isinstance(tuning, dict):
      out += [f"Value threshold used: {tuning['threshold']:.2f}, tuned by the Trainer on "
              f"{tuning['dev_examples']} dev examples held out of the train split.", '']
      unseen = tuning.get('unseen_rule')
      if unseen:
        from model.value_threshold import UNSEEN_SCORE_NAMES
        score = UNSEEN_SCORE_NAMES[unseen['kind']]
        how = (f"tuned on {unseen['questions']} questions of {unseen['attributes']} pseudo-unseen "
               'attributes held out of training' if unseen.get('attributes') else 'the default, not tuned')
        out += [f"Attributes never trained on: a value when {score} >= {unseen['threshold']:.2f}, {how}.", '']
    sweep_png, reliability_png = _plots(results_dir, name, result)
    best = max(result['model']['threshold_sweep'], key=lambda r: r['f1'])
    out += [f"Best value threshold on this eval split: {best['threshold']:.2f} (F1 {100 * best['f1']:.1f}; "
            'picked on the eval split itself, so optimistic: a guide for tuning, not a result).', '',
            f'![threshold sweep]({sweep_png}) ![reliability]({reliability_png})', '']
  if runs:
    out += _ablations(results_dir, results, runs)
  with open(os.path.join(results_dir, 'report.md'), 'w') as f:
    f.write('\n'.join(out) + '\n')
  print('Wrote', os.path.join(results_dir, 'report.md'))
