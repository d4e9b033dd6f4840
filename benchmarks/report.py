"""report.md (with PNG plots) from the results JSON files that experiments.py wrote."""
import glob
import json
import os

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402

FOUR = ['Brand Name', 'Material', 'Color', 'Category']
ABLATIONS = [('QA', 0.0, 0.0), ('QA+CLS', 0.0, 0.5), ('QA+MLM', 0.5, 0.0), ('AVEQA', 0.5, 0.5)]
PAPER_OVERALL_F1 = {'AVEQA (paper, full AE-pub, BERT-base)': 85.01,
                    'SUOpenTag (paper)': 74.92}


def _load(results_dir):
  results = {}
  for path in sorted(glob.glob(os.path.join(results_dir, '*.json'))):
    with open(path) as f:
      results[os.path.basename(path)[:-len('.json')]] = json.load(f)
  return results


def _f1(result, attribute=None):
  block = result['model']['overall'] if attribute is None else result['model']['per_attribute'].get(attribute)
  return '–' if block is None else f"{100 * block['f1']:.1f}"


def _pr(result):
  o = result['model']['overall']
  return f"{100 * o['precision']:.1f} / {100 * o['recall']:.1f}"


def _comparison(results, name, attributes, paper_column):
  """F1 per method side by side; the paper's overall numbers (the only ones we have for
  AE-pub) in their own columns on the random split."""
  methods = [(name, 'AVEQA (ours)')] + [(f'{name}.{suffix}', label) for suffix, label in (
      ('hf-squad', 'HF extractive-QA recipe'), ('dictionary', 'dictionary baseline'))]
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


def write_report(results_dir):
  results = _load(results_dir)
  runs = {k: v for k, v in results.items() if '.' not in k}
  out = ['# AVEQA on AE-pub-21k: results', '',
         'AE-pub-21k is the 21,490-line part of AE-pub available here (see ../shared/data/SOURCES.md);',
         'the paper used the full 110k-line set and BERT-base, so its numbers are a reference, not a',
         'like-for-like comparison. Exact match, micro over triples; P/R/F1 in %.', '']
  for name, result in runs.items():
    zero_shot = result['split'].get('rule') == 'zero_shot'
    attributes = list(result['split']['held_out_attributes']) if zero_shot else FOUR
    out += [f'## {name}', '',
            f"split: `{json.dumps(result['split'])}`; {result['train_examples']} train / "
            f"{result['eval_examples']} eval triples; alpha={result['alpha']} beta={result['beta']}; "
            f"budget `{json.dumps(result['budget'])}`; pipeline wall time {result['pipeline_wall_seconds']:.0f} s",
            f"command: `{result['command']}`", '', _comparison(results, name, attributes, not zero_shot), '']
    tuning = result.get('value_threshold')
    if isinstance(tuning, dict):
      out += [f"Value threshold used: {tuning['threshold']:.2f}, tuned by the Trainer on "
              f"{tuning['dev_examples']} dev examples held out of the train split.", '']
    sweep_png, reliability_png = _plots(results_dir, name, result)
    best = max(result['model']['threshold_sweep'], key=lambda r: r['f1'])
    out += [f"Best value threshold on this eval split: {best['threshold']:.2f} (F1 {100 * best['f1']:.1f}; "
            'picked on the eval split itself, so optimistic: a guide for tuning, not a result).', '',
            f'![threshold sweep]({sweep_png}) ![reliability]({reliability_png})', '']
  ablations = [(label, split, r) for label, a, b in ABLATIONS for split in ('random', 'zero_shot')
               for r in runs.values() if r['alpha'] == a and r['beta'] == b and r['split'].get('rule') == split]
  if ablations:
    out += ['## Ablations (overall F1)', '', '| model | split | F1 |', '|---|---|---:|']
    out += [f'| {label} | {split} | {_f1(r)} |' for label, split, r in ablations]
  with open(os.path.join(results_dir, 'report.md'), 'w') as f:
    f.write('\n'.join(out) + '\n')
  print('Wrote', os.path.join(results_dir, 'report.md'))
