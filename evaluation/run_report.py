"""report.html: one self-contained page a person can look at after a run.

It puts together what CatalogWriter (summary.json) and ExactMatchEvaluator (metrics.json)
wrote, plus what only the Parquet output knows: how confident the answers were and what
they look like on real rows. Everything is inlined (PNG as base64, CSS in <style>), so the
file can be mailed, opened from gs:// downloads or archived without its neighbours.
"""
import base64
import hashlib
import html
import io
import os

import numpy as np
import pyarrow.compute as pc
import tensorflow as tf
from matplotlib.figure import Figure  # no pyplot: no global state, no display backend needed
from matplotlib.ticker import MaxNLocator

from catalog import files
from catalog.columns import output_columns

REPORT_FILE = 'report.html'
ID, TITLE, REASON = 'product_id', 'title', 'quarantine_reason'
BINS = np.linspace(0.0, 1.0, 21)


def write_run_report(output_dir: str, summary: dict, gate: dict | None, attributes: list[str],
                     thresholds: dict | None = None, examples_per_attribute: int = 5, seed: int = 0) -> str:
  """Writes <output_dir>/report.html (local or gs://) and returns its path. thresholds: the
  precision targets' choices (evaluation/precision_targets.py), curves included."""
  filled = summary.get('filled', True)
  sections = [_header(summary, gate), _gate_section(gate, attributes), _mining_section(gate),
               _teacher_section(gate)]
  if filled:
    histograms, examples = _scan_catalog(summary.get('catalog_files'), attributes,
                                         examples_per_attribute, seed)
    sections += [_categories_section(summary), _filled_section(summary, attributes),
                 _cost_section(summary), _precision_section(summary, thresholds or {}, attributes),
                 _histogram_section(histograms, attributes),
                 _quarantine_section(summary), _examples_section(examples, attributes)]
  page = (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
          f'<title>AVEQA run report</title><style>{CSS}</style></head>'
          f'<body>{"".join(sections)}</body></html>')
  tf.io.gfile.makedirs(output_dir)
  path = os.path.join(output_dir, REPORT_FILE)
  with tf.io.gfile.GFile(path, 'w') as f:
    f.write(page)
  return path


# ---------------------------------------------------------------- reading the Parquet output

def _read(path, wanted):
  """Only the columns the report shows (a catalog can be wide and large)."""
  return files.read_columns(path, wanted)


def _files(pattern):
  return sorted(tf.io.gfile.glob(pattern)) if pattern else []


def _cell(table, name, i) -> str:
  """Row i of a column as text; '' when null or absent (quarantined rows may lack either)."""
  value = table[name][i].as_py() if name in table.column_names else None
  return '' if value is None else str(value)


def _scan_catalog(pattern, attributes, k, seed):
  """One pass, file by file (memory bounded by a file): per attribute the confidence
  histogram of filled values and of "no value" answers, and the k example rows.

  Examples are the answered rows with the smallest seeded hash of product_id, filled
  values first: the same product ids come back however Beam sharded the output, so two
  runs' reports show the same products side by side."""
  histograms = {a: np.zeros((2, len(BINS) - 1), int) for a in attributes}
  examples = {a: [] for a in attributes}
  wanted = [ID, TITLE] + [c for a in attributes for c in output_columns(a)[:2]]
  for path in _files(pattern):
    table = _read(path, wanted)
    ids = [str(i) for i in table[ID].to_pylist()]
    keys = np.array([int.from_bytes(hashlib.blake2b(f'{seed}:{i}'.encode(), digest_size=8).digest(), 'big')
                     for i in ids], dtype=np.uint64)
    for a in attributes:
      value_col, confidence_col, _ = output_columns(a)
      if confidence_col not in table.column_names:
        continue
      confidence = table[confidence_col].to_numpy(zero_copy_only=False).astype(float)  # null -> NaN
      has_value = pc.is_valid(table[value_col]).to_numpy(zero_copy_only=False)
      answered = ~np.isnan(confidence)   # null confidence: the row already had the attribute
      clipped = np.clip(confidence, 0, 1)
      histograms[a][0] += np.histogram(clipped[answered & has_value], BINS)[0]
      histograms[a][1] += np.histogram(clipped[answered & ~has_value], BINS)[0]
      rows = np.flatnonzero(answered)
      best = rows[np.lexsort((keys[rows], ~has_value[rows]))[:k]]
      examples[a] += [((not has_value[i], keys[i]), ids[i], _cell(table, TITLE, i),
                       table[value_col][i].as_py(), confidence[i]) for i in best]
      examples[a] = sorted(examples[a], key=lambda e: e[0])[:k]
  return histograms, examples


def _quarantine_examples(pattern):
  """The first quarantined row of each reason, so a reason comes with a row to look up."""
  first = {}
  for path in _files(pattern):
    table = _read(path, [ID, TITLE, REASON])
    if REASON not in table.column_names:
      continue
    for i, reason in enumerate(table[REASON].to_pylist()):
      first.setdefault(reason, (_cell(table, ID, i), _cell(table, TITLE, i)))
  return first


# ---------------------------------------------------------------- HTML pieces

def _e(value) -> str:
  return html.escape('' if value is None else str(value))


def _pct(x) -> str:
  return f'{100 * x:.1f}'


def _bar(share, cls='') -> str:
  """A number with a small bar behind it: comparisons at a glance, no image needed."""
  width = max(0.0, min(1.0, share)) * 100
  return f'<div class="bar {cls}"><span style="width:{width:.1f}%"></span></div>'


def _table(head, rows, cls='') -> str:
  header = ''.join(f'<th>{h}</th>' for h in head)
  body = ''.join('<tr>' + ''.join(f'<td>{c}</td>' for c in row) + '</tr>' for row in rows)
  return f'<table class="{cls}"><thead><tr>{header}</tr></thead><tbody>{body}</tbody></table>'


def _header(summary, gate) -> str:
  filled = summary.get('filled', True)
  blessed = gate['blessed'] if gate is not None else filled
  badge = (f'<span class="badge {"ok" if blessed else "bad"}">'
           f'{"blessed" if blessed else "not blessed"}</span>')
  gate_line = f'<p class="reason">Gate: {_e(gate["reason"])}</p>' if gate else '<p>No gate metrics given.</p>'
  not_filled = ('' if filled else
                f'<div class="alert"><b>The catalog was not filled.</b> {_e(summary.get("reason"))}</div>')
  tiles = ''.join(f'<div class="tile"><div class="n">{_e(summary.get(k, "–"))}</div><div>{label}</div></div>'
                  for k, label in (('rows_in', 'rows in'), ('rows_out', 'rows out'),
                                   ('quarantined', 'quarantined'))) if filled else ''
  served = summary.get('served_with')
  served = f', served with {_e(served["runtime"])} {_e(served["precision"])}' if served else ''
  version = (f'<p>Model version: <code>{_e(summary["model_version"])}</code>{served}</p>'
             if 'model_version' in summary else '')   # an unblessed run has none
  return (f'<header><h1>AVEQA catalog enrichment — run report {badge}</h1>'
          f'{version}{gate_line}{not_filled}<div class="tiles">{tiles}</div></header>')


def _teacher_section(gate) -> str:
  """The domain-adapted checkpoint's masked-LM teacher against the original checkpoint's."""
  adaptation = (gate or {}).get('adaptation')
  if not adaptation or 'teacher_after' not in adaptation:
    return ''
  rows = [[_e(f'{label} ({m["projection"]})'), f'{m["top1_accuracy"]:.3f}', f'{m["top5_accuracy"]:.3f}',
           f'{m["perplexity"]:.1f}']
          for label, m in (('original checkpoint', adaptation.get('teacher_before')),
                           ('adapted checkpoint', adaptation['teacher_after'])) if m]
  note = (f'{adaptation["steps"]} masked-LM steps on {adaptation["texts"]} texts of this run (train '
          f'titles and catalog text) before training. Measured on {adaptation["eval_titles_measured"]} '
          f'{adaptation["measured_on"]}, {adaptation["teacher_after"]["masked_tokens"]} masked '
          f'tokens, the same masks for both.')
  return (f'<section><h2>Distilled MLM teacher</h2><p class="note">{_e(note)}</p>'
          f'{_table(["teacher", "top-1", "top-5", "perplexity"], rows, "num")}</section>')


def _gate_section(gate, attributes) -> str:
  if not gate:
    return ''
  model, baseline = gate['model'], gate.get('baseline')
  head = ['attribute', 'triples', 'right', 'wrong value', 'missed', 'spurious', 'P %', 'R %', 'F1 %']
  head += ['baseline F1 %', 'Δ F1'] if baseline else []

  def row(name, counts, base):
    cells = [name, counts['total'], counts['vc'], counts['vw'], counts['vn'], counts['nv'],
             _pct(counts['precision']), _pct(counts['recall']),
             f'{_pct(counts["f1"])}{_bar(counts["f1"])}']
    if baseline:
      delta = 100 * (counts['f1'] - base['f1']) if base else None
      cells += [f'{_pct(base["f1"])}{_bar(base["f1"], "grey")}' if base else '–',
                '–' if delta is None else f'<span class="{"up" if delta >= 0 else "down"}">{delta:+.1f}</span>']
    return cells

  per_model, per_base = model['per_attribute'], (baseline or {}).get('per_attribute', {})
  names = list(attributes) + sorted(set(per_model) - set(attributes))   # the gate may score more
  rows = [row('<b>overall</b>', model['overall'], (baseline or {}).get('overall'))]
  rows += [row(_e(a), per_model[a], per_base.get(a)) for a in names if a in per_model]
  settings = (f'{_e(gate.get("examples", "–"))} eval triples, precision {_e(gate.get("precision", "–"))} ({_e(gate.get("runtime", "tensorflow"))}), '
              f'min F1 {_e(gate.get("min_f1", "–"))}, max F1 drop {_e(gate.get("max_f1_drop", "–"))}')
  if (gate.get('serving') or {}).get('chosen_by') == 'gate':
    settings += f'. Serving chosen by the gate: {_e(gate["serving"]["reason"])}'
  sources = gate.get('sources') or {}
  if any(counts.get('mined') or counts.get('reviewed') for counts in sources.values()):
    settings += ('. Triples by source: ' + '; '.join(
        f'{_e(split)} {counts.get("labelled", 0)} labelled, {counts.get("mined", 0)} mined from the '
        f'catalog\'s known values' + (f', {counts["reviewed"]} reviewed' if counts.get('reviewed') else '')
        for split, counts in sources.items())
        + '. Mined eval triples score how well the model recovers values the catalog already '
        'knows: a proxy, but in your own catalog\'s language')
  return (f'<section><h2>Gate: exact match on the eval split</h2><p class="note">{settings}. '
          f'right = same value as gold; wrong value, missed (gold has a value, model said none) and '
          f'spurious (gold has none, model gave one) are the errors.</p>{_table(head, rows, "num")}</section>')


def _mining_section(gate) -> str:
  """Per attribute, what the catalog's known values and the reviewed rows gave for training."""
  parts = []
  for kind, title in (('mined', "the catalog's known values"), ('reviewed', 'reviewed rows')):
    table = (gate or {}).get(kind) or {}
    if table:
      outcomes = [k for k in next(iter(table.values())) if any(t.get(k) for t in table.values())]
      rows = [[_e(a)] + [counts.get(k, 0) for k in outcomes] for a, counts in sorted(table.items())]
      parts.append(f'<h3>From {title}</h3>'
                   + _table(['attribute'] + [_e(k.replace('_', ' ')) for k in outcomes], rows, 'num'))
  if not parts:
    return ''
  return ('<section><h2>Training data from the catalog</h2><p class="note">Per attribute: the rows '
          'that know it and what each gave (aligned: a span to learn; no value marker and value '
          'removed: "no value" examples; kept: training and eval triples after the cap).</p>'
          + ''.join(parts) + '</section>')


def _categories_section(summary) -> str:
  """Per category: its rows, the attributes asked, the questions asked and those saved."""
  found = summary.get('categories') or {}
  if not found.get('column'):
    note = found.get('note')
    return f'<section><h2>Categories</h2><p>{_e(note)}</p></section>' if note else ''
  rows = [[_e(c), e['rows'], _e(', '.join(e['attributes']) or '(none)'), e['questions'], e['questions_saved']]
          for c, e in found['per_category'].items()]
  missing = found.get('map_categories_not_in_catalog') or []
  note = (f'Column <code>{_e(found["column"])}</code>. A row is asked only the attributes of its '
          f'category; {found["rows_without_category"]} rows without a category and '
          f'{found["rows_with_unmapped_category"]} of a category outside the table were asked nothing.'
          + (f' The attribute table names categories this catalog lacks: {_e(", ".join(missing))}.'
             if missing else ''))
  return (f'<section><h2>Categories</h2><p class="note">{note}</p>'
          f'{_table(["category", "rows", "attributes asked", "questions", "questions saved"], rows, "num2")}'
          f'</section>')


def _filled_section(summary, attributes) -> str:
  questions, filled = summary.get('questions', {}), summary.get('values_filled', {})
  withheld, claimed = summary.get('values_withheld', {}), summary.get('values_claimed', {})
  rows = []
  for a in attributes:
    asked, got = questions.get(a, 0), filled.get(a, 0)
    share = got / asked if asked else 0.0
    rows.append([_e(a), asked, got, withheld.get(a, 0), claimed.get(a, 0), f'{_pct(share)}{_bar(share)}'])
  shared = summary.get('shared_values') or []
  sharing = ('; '.join(f'{_e(a)} and {_e(b)} ({n} rows)' for a, b, n in sorted(shared, key=lambda s: -s[2])[:20])
             + (f'; {len(shared) - 20} more' if len(shared) > 20 else '')) if shared else 'none'
  one_value = (f' A value found for two attributes of a row fills only one of them, the one the catalog '
               f'knows it for or else the surer (the other: claimed, not filled, in the review queue), '
               f'unless the catalog knows the two sharing a value in some row: {sharing}.'
               if summary.get('one_attribute_per_value') else '')
  spelling = summary.get('spelling') or {}
  how = '; '.join(f'{_e(k)}: {v}' for k, v in spelling.items() if v)
  return (f'<section><h2>Values filled</h2><p class="note">Questions are the rows missing the '
          f'attribute; a question stays unfilled when the model answers "no value", or when its '
          f'value is below the attribute\'s precision threshold (withheld, in the review queue).'
          f'{one_value}'
          f'{" Values found, by how they got the catalog&#39;s spelling: " + how + "." if how else ""}</p>'
          f'{_table(["attribute", "questions", "filled", "withheld", "claimed", "filled % of questions"], rows, "num narrow")}'
          f'</section>')


def _cost_section(summary) -> str:
  """What the model was asked, and the catalog step's CPU-seconds (catalog/cost.py)."""
  questions = sum(summary.get('questions', {}).values())
  asked = [['questions (rows missing a value)', questions],
           ['distinct texts and attributes', summary.get('questions_distinct', '–')],
           ["answered by the previous run's model (--incremental)", summary.get('questions_reused', 0)],
           ['asked of the model', summary.get('questions_asked', '–')]]
  cost = summary.get('cost')
  if not cost or cost['cpu_seconds'].get('total') is None:   # no step recorded its time
    return f'<section><h2>Questions and cost</h2>{_table(["", "count"], asked, "num")}</section>'
  seconds = cost['cpu_seconds']
  per = lambda value: '–' if value is None else f'{value:,.0f} s ({value / 3600:,.1f} h)'
  spent = [[part, '–' if seconds.get(part) is None else f'{seconds[part]:,.1f}'] for part in
           ('questions', 'inference', 'writer', 'total')]
  spent += [['per million questions', per(cost['per_million_questions'])],
            ['per million values filled', per(cost['per_million_filled'])]]
  note = ('' if cost.get('complete') else ' A part without a number did not record its time; '
          'the total covers the others.')
  return (f'<section><h2>Questions and cost</h2><p class="note">CPU-seconds of each step\'s process '
          f'(user and system, every thread): the whole cost on the local runner; on Dataflow, the '
          f'job\'s metrics are the bill.{note}</p>'
          f'{_table(["", "count"], asked, "num")}{_table(["CPU", "seconds"], spent, "num")}</section>')


def _precision_png(attribute, chosen) -> str:
  """Precision (and its Wilson lower bound) against recall on the eval split as the threshold
  falls, the target, and the threshold chosen."""
  points = chosen['curve']
  fig = Figure(figsize=(5.4, 2.9), dpi=120)
  ax = fig.add_subplot()
  recall = [p['recall'] for p in points]
  ax.plot(recall, [p['precision'] for p in points], color='#2a7ab9', label='precision')
  ax.plot(recall, [p['lower_bound'] for p in points], color='#2a7ab9', linestyle='--', linewidth=1,
          label='lower bound')
  ax.axhline(chosen['target'], color='#b94a2a', linewidth=1, label=f"target {chosen['target']:.2f}")
  if chosen['threshold'] is not None:
    ax.plot([chosen['recall']], [chosen['expected_precision']], 'o', color='#b94a2a')
  else:
    ax.text(0.5, 0.1, 'target not reached: fills nothing', ha='center', transform=ax.transAxes, color='#b94a2a')
  ax.set(xlim=(0, 1), ylim=(0, 1.02), xlabel='recall (eval split)', ylabel='precision')
  ax.set_title(attribute, loc='left', fontweight='bold')
  ax.legend(loc='lower right', bbox_to_anchor=(1, 1), ncol=3, fontsize=8, frameon=False)
  ax.spines[['top', 'right']].set_visible(False)
  return _png(fig)


def _precision_section(summary, thresholds, attributes) -> str:
  """Per attribute with a precision target: the threshold chosen on the eval split, the
  precision expected there and its bound, and what it filled; its curve."""
  if not thresholds:
    return ''
  filled, withheld = summary.get('values_filled', {}), summary.get('values_withheld', {})
  number = lambda x, f='{:.3f}': '–' if x is None else f.format(x)
  rows, images = [], []
  for a in attributes:
    chosen = thresholds.get(a)
    if chosen is None:
      continue
    rows.append([_e(a), number(chosen['target'], '{:.2f}'),
                 number(chosen['threshold']) if chosen['threshold'] is not None else '<b>not reached</b>',
                 number(chosen['expected_precision']), number(chosen['lower_bound']),
                 chosen['eval_fills'], _pct(chosen['recall']), filled.get(a, 0), withheld.get(a, 0)])
    images.append(f'<figure><img alt="precision and recall: {_e(a)}" '
                  f'src="data:image/png;base64,{_precision_png(a, chosen)}"></figure>')
  return (f'<section><h2>Precision targets</h2><p class="note">Each attribute fills only at or above '
          f'the lowest confidence whose precision on the eval split has its 95% Wilson lower bound at '
          f'or above the target; an attribute that cannot reach it fills nothing, and its values go to '
          f'the review queue.</p>'
          f'{_table(["attribute", "target", "threshold", "eval precision", "lower bound", "eval fills", "eval recall %", "filled", "withheld"], rows, "num")}'
          f'<div class="grid">{"".join(images)}</div></section>')


def _png(fig) -> str:
  """The figure as base64 PNG, for an inline <img>."""
  fig.tight_layout()
  buffer = io.BytesIO()
  fig.savefig(buffer, format='png')
  return base64.b64encode(buffer.getvalue()).decode('ascii')


def _histogram_png(attribute, counts) -> str:
  fig = Figure(figsize=(5.4, 2.9), dpi=120)
  ax = fig.add_subplot()
  left, width = BINS[:-1], np.diff(BINS)
  ax.bar(left, counts[0], width, align='edge', color='#2a7ab9', edgecolor='white', label='value filled')
  ax.bar(left, counts[1], width, bottom=counts[0], align='edge', color='#c9c9c9', edgecolor='white',
         label='"no value"')
  ax.set(xlim=(0, 1), ylim=(0, max(1, counts.sum(axis=0).max()) * 1.05), xlabel='confidence', ylabel='answers')
  ax.set_title(attribute, loc='left', fontweight='bold')
  if not counts.sum():
    ax.text(0.5, 0.5, 'no answers', ha='center', va='center', transform=ax.transAxes, color='#777')
  ax.legend(loc='lower right', bbox_to_anchor=(1, 1), ncol=2, fontsize=8, frameon=False)  # above: never on a bar
  ax.spines[['top', 'right']].set_visible(False)
  ax.yaxis.set_major_locator(MaxNLocator(integer=True))   # counts of answers, not fractions
  return _png(fig)


def _histogram_section(histograms, attributes) -> str:
  images = ''.join(f'<figure><img alt="confidence histogram: {_e(a)}" '
                   f'src="data:image/png;base64,{_histogram_png(a, histograms[a])}"></figure>'
                   for a in attributes)
  return (f'<section><h2>Confidence of the answers</h2><p class="note">From the catalog Parquet '
          f'files; rows that already had the attribute were not asked and are not counted.</p>'
          f'<div class="grid">{images}</div></section>')


def _quarantine_section(summary) -> str:
  reasons = summary.get('quarantine_reasons', {})
  if not reasons:
    return '<section><h2>Quarantine</h2><p>No rows quarantined.</p></section>'
  first = _quarantine_examples(summary.get('quarantine_files'))
  rows = [[_e(reason), count, _e(first.get(reason, ('', ''))[0]),
           f'<span class="title">{_e(first.get(reason, ("", ""))[1])}</span>']
          for reason, count in sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))]
  return (f'<section><h2>Quarantine</h2><p class="note">Rows left out of the catalog, by reason, '
          f'with the first such row. Files: <code>{_e(summary.get("quarantine_files"))}</code></p>'
          f'{_table(["reason", "rows", "e.g. product_id", "its title"], rows, "num2")}</section>')


def _marked(title, value) -> str:
  """The title with the predicted value highlighted where it occurs (values are spans of it)."""
  at = title.find(value) if value else -1
  if at < 0:
    return _e(title)
  return f'{_e(title[:at])}<mark>{_e(value)}</mark>{_e(title[at + len(value):])}'


def _examples_section(examples, attributes) -> str:
  parts = []
  for a in attributes:
    rows = [[_e(pid), f'<span class="title">{_marked(title, value)}</span>',
             _e(value) if value is not None else '<i class="none">no value</i>', f'{confidence:.2f}']
            for _, pid, title, value, confidence in examples[a]]
    body = (_table(['product_id', 'title', 'predicted', 'confidence'], rows, 'examples') if rows
            else '<p>No answers for this attribute.</p>')
    parts.append(f'<h3>{_e(a)}</h3>{body}')
  return (f'<section><h2>Example rows</h2><p class="note">A fixed, seeded sample per attribute, '
          f'filled values first.</p>{"".join(parts)}</section>')


CSS = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #222;
       max-width: 1180px; margin: 24px auto; padding: 0 20px; }
h1 { font-size: 22px; margin: 0 0 8px; } h2 { font-size: 18px; margin: 28px 0 6px;
  border-bottom: 1px solid #ddd; padding-bottom: 4px; } h3 { font-size: 15px; margin: 16px 0 6px; }
code { background: #f3f3f3; padding: 1px 4px; border-radius: 3px; word-break: break-all; }
.badge { font-size: 13px; padding: 3px 10px; border-radius: 12px; vertical-align: middle; color: #fff; }
.ok { background: #2e7d32; } .bad { background: #c62828; }
.alert { background: #fdecea; border-left: 5px solid #c62828; padding: 10px 14px; margin: 10px 0; }
.reason { margin: 4px 0; } .note { color: #666; margin: 2px 0 10px; }
.tiles { display: flex; gap: 14px; margin-top: 12px; }
.tile { background: #f5f7fa; border-radius: 6px; padding: 10px 18px; min-width: 120px; color: #555; }
.tile .n { font-size: 26px; font-weight: 600; color: #222; font-variant-numeric: tabular-nums; }
table { border-collapse: collapse; width: 100%; margin: 4px 0 8px; }
th, td { padding: 5px 9px; border-bottom: 1px solid #eee; text-align: left; vertical-align: top; }
th { background: #fafafa; font-weight: 600; font-size: 13px; white-space: nowrap; }
table.narrow { max-width: 760px; }
table.num td, table.num th { text-align: right; font-variant-numeric: tabular-nums; }
table.num td:first-child, table.num th:first-child, table.num2 td:first-child { text-align: left; }
table.num2 td:nth-child(2) { text-align: right; }
table.examples { table-layout: fixed; }   /* a long id or title wraps instead of squeezing the rest */
table.examples th:nth-child(1) { width: 15%; } table.examples th:nth-child(3) { width: 18%; }
table.examples th:nth-child(4), table.examples td:nth-child(4) { width: 90px; text-align: right;
  font-variant-numeric: tabular-nums; }
td { overflow-wrap: anywhere; }
mark { background: #fff0a8; padding: 0 2px; }
.none { color: #888; }
.bar { height: 4px; background: #eee; margin-top: 3px; min-width: 60px; }
.bar span { display: block; height: 100%; background: #2a7ab9; } .bar.grey span { background: #999; }
.up { color: #2e7d32; } .down { color: #c62828; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(440px, 1fr)); gap: 12px; }
figure { margin: 0; } figure img { width: 100%; height: auto; border: 1px solid #eee; }
"""
