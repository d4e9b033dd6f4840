"""Scores a filled WDC-PAVE catalog (benchmarks/wdc_pave_catalog.py) on its test offers.

  .venv/bin/python -m benchmarks.wdc_pave_score --enriched 'ROOT/CatalogWriter/enriched_catalog/N/catalog-*.parquet'
  .venv/bin/python -m benchmarks.wdc_pave_score --enriched '...' --variant normalized --json OUT.json
  .venv/bin/python -m benchmarks.wdc_pave_score --enriched '...' --min-confidence 0.9
  .venv/bin/python -m benchmarks.wdc_pave_score --enriched '...' --spelling text

A fill is read from the value column (the catalog's spelling, catalog/vocabulary.py) or, with
--spelling text, from the span column (the text's spelling) of the same filled cells. With
--variant normalized, gold values are also tallied by how WDC-PAVE normalised them against
the raw gold (normalisation_kind).

Only the test offers are scored (joined by product_id with the variant's test.jsonl), each
on every attribute the run wrote a value column for, in one of the five exact-match
counters (model/exact_match.py):

  an attribute of the offer's category with a value   filled with any gold surface form: vc;
                                                       with another value: vw; empty: vn
  an attribute of the offer's category marked n/a     filled: nv; empty: nn
  an attribute outside the offer's category           filled: nv, and an out-of-category fill;
                                                       empty: not counted (WDC-PAVE says nothing)

"The same value" is the product's normalisation on both sides (case and spacing folded);
--strict-case keeps case. Prints Markdown tables: P/R/F1 overall, per category and per
category attribute, the share of n/a cells left empty and the fills outside the category.
"""
import argparse
import collections
import dataclasses
import glob
import json
from typing import Dict, Iterable, List, Optional, Sequence

import pyarrow.parquet as pq

from benchmarks import wdc_pave_catalog as wdc
from catalog.columns import output_columns, span_column
from catalog.vocabulary import value_key
from model import exact_match

# The value and confidence columns' names end so for every attribute; taken from the one
# place that names columns.
VALUE_SUFFIX, CONFIDENCE_SUFFIX = output_columns('')[:2]
SPAN_SUFFIX = span_column('')
SPELLINGS = ('catalog', 'text')
# How a normalised gold value relates to the raw gold forms of the same cell.
KINDS = ('unchanged', 'wrangling', 'units and numbers', 'expansion or generalisation')


def normalisation_kind(normalised: Sequence[str], raw: Optional[Sequence[str]]) -> str:
  """unchanged: a raw form as it is; wrangling: a raw form up to case, spacing and punctuation;
  units and numbers: both hold digits ("8MB" -> "8 Megabytes", "24\"" -> "61.0"); expansion or
  generalisation: the rest ("HP" -> "Hewlett-Packard", "Magenta" -> "Red")."""
  raw = list(raw or [])
  if any(n in raw for n in normalised):
    return KINDS[0]
  if any(value_key(n) == value_key(r) for n in normalised for r in raw):
    return KINDS[1]
  digits = lambda text: any(ch.isdigit() for ch in text)
  if any(digits(n) for n in normalised) and any(digits(r) for r in raw):
    return KINDS[2]
  return KINDS[3]


def kinds_of(normalised_offers: Iterable[dict], raw_offers: Iterable[dict]) -> Dict[tuple, str]:
  """{(offer id, attribute): normalisation_kind} of every cell with a normalised gold value."""
  raw = {str(o['id']): o for o in raw_offers}
  kinds = {}
  for offer in normalised_offers:
    for attribute, target in offer['target_scores'].items():
      forms = wdc.surface_forms(target)
      if forms:
        raw_target = raw.get(str(offer['id']), {}).get('target_scores', {}).get(attribute)
        kinds[(str(offer['id']), attribute)] = normalisation_kind(forms, wdc.surface_forms(raw_target or {'n/a': 1}))
  return kinds


def same_value(predicted: str, forms: Sequence[str], fold_case: bool = True) -> bool:
  """Whether a fill is one of the gold surface forms: the product's own equality (the gate's,
  the value threshold's tuning's and mining's)."""
  return exact_match.same_value(predicted, tuple(forms), fold_case)


def is_filled(value: Optional[str]) -> bool:
  """Null, empty and blank cells are not filled (the product's notion of no value)."""
  return bool(exact_match.normalize(value))


def outcome(predicted: Optional[str], forms: Optional[Sequence[str]], fold_case: bool = True) -> str:
  """The counter of one cell of the offer's category; forms None: annotated n/a."""
  if forms is None:
    return 'nv' if is_filled(predicted) else 'nn'
  if not is_filled(predicted):
    return 'vn'
  return 'vc' if same_value(predicted, forms, fold_case) else 'vw'


@dataclasses.dataclass
class Tally:
  """The counters of a group of cells, and how many of its nv were outside the offer's
  category: the rest are n/a cells filled."""
  counts: exact_match.Counts = dataclasses.field(default_factory=exact_match.Counts)
  out_of_category_fills: int = 0

  def add(self, counter: str, out_of_category: bool = False):
    setattr(self.counts, counter, getattr(self.counts, counter) + 1)
    self.out_of_category_fills += out_of_category

  def as_dict(self) -> dict:
    c = self.counts
    na_cells = c.nn + c.nv - self.out_of_category_fills
    return {**c.as_dict(), 'fills': c.nv + c.vc + c.vw, 'out_of_category_fills': self.out_of_category_fills,
            'na_cells': na_cells, 'na_left_empty': c.nn / na_cells if na_cells else None}


def rows_of_test_offers(enriched_rows: Iterable[dict], offers: Dict[str, dict]) -> Dict[str, dict]:
  """{product_id: enriched row} of the test offers; every one must be there, once."""
  rows, seen = {}, collections.Counter()
  for row in enriched_rows:
    product_id = str(row[wdc.ID])
    if product_id in offers:
      rows[product_id] = row
      seen[product_id] += 1
  twice = sorted(p for p, n in seen.items() if n > 1)
  if twice:
    raise ValueError(f'test offers found more than once in the enriched catalog: {", ".join(twice[:10])}')
  missing = sorted(set(offers) - set(rows))
  if missing:
    raise ValueError(f'{len(missing)} of {len(offers)} test offers are missing from the enriched catalog: '
                     f'{", ".join(missing[:10])}{" ..." if len(missing) > 10 else ""}')
  return rows


def score(enriched_rows: Iterable[dict], test_offers: Iterable[dict], fold_case: bool = True,
          kinds: Optional[Dict[tuple, str]] = None) -> dict:
  """Counts and P/R/F1 of the test offers' fills, overall, per category and per category
  attribute, and per normalisation kind when kinds (kinds_of) are given; the attributes
  scored are those with a value column in the rows."""
  offers = {str(o['id']): o for o in test_offers}
  enriched_rows = list(enriched_rows)
  value_columns = sorted({c for row in enriched_rows for c in row if c.endswith(VALUE_SUFFIX)})
  if not value_columns:
    raise ValueError(f'the enriched catalog has no *{VALUE_SUFFIX} column: nothing was filled')
  rows = rows_of_test_offers(enriched_rows, offers)
  wdc_names = {output_columns(a)[0]: a for o in offers.values() for a in o['target_scores']}
  overall, per_category = Tally(), collections.defaultdict(Tally)
  per_attribute = collections.defaultdict(lambda: collections.defaultdict(Tally))
  per_kind = collections.defaultdict(Tally)
  for product_id, offer in offers.items():
    category, row = offer['category'], rows[product_id]
    of_category = {output_columns(a)[0]: a for a in offer['target_scores']}
    for column in value_columns:
      predicted = row.get(column)
      attribute = of_category.get(column)
      if attribute is None:
        if is_filled(predicted):
          for tally in (overall, per_category[category]):
            tally.add('nv', out_of_category=True)
        continue
      counter = outcome(predicted, wdc.surface_forms(offer['target_scores'][attribute]), fold_case)
      for tally in (overall, per_category[category], per_attribute[category][attribute]):
        tally.add(counter)
      if kinds and (product_id, attribute) in kinds:
        per_kind[kinds[(product_id, attribute)]].add(counter)
  return {'test_offers': len(offers), 'fold_case': fold_case,
          'attributes': [wdc_names.get(c, c[:-len(VALUE_SUFFIX)]) for c in value_columns],
          'overall': overall.as_dict(),
          'per_category': {c: t.as_dict() for c, t in sorted(per_category.items())},
          'per_attribute': {c: {a: t.as_dict() for a, t in sorted(names.items())}
                            for c, names in sorted(per_attribute.items())},
          **({'per_kind': {k: per_kind[k].as_dict() for k in KINDS if k in per_kind}} if kinds else {})}


def _percent(share: Optional[float]) -> str:
  return '–' if share is None else f'{100 * share:.1f}'


def _cells(row: dict) -> str:
  return ' | '.join([*(str(row[k]) for k in ('vc', 'vw', 'vn', 'nv', 'nn')),
                     *(_percent(row[k]) for k in ('precision', 'recall', 'f1', 'na_left_empty'))])


def markdown(report: dict) -> str:
  """The report as Markdown tables, for the docs."""
  overall = report['overall']
  counters = 'vc | vw | vn | nv | nn | P % | R % | F1 % | n/a left empty %'
  rule = '|---' + '|---:' * 9
  lines = [
      f"{report['test_offers']} test offers, {len(report['attributes'])} attribute columns, "
      f"{'case folded' if report['fold_case'] else 'case kept'}.",
      '',
      '| F1 % | P % | R % | fills | out-of-category fills | n/a left empty % |',
      '|---:|---:|---:|---:|---:|---:|',
      f"| {_percent(overall['f1'])} | {_percent(overall['precision'])} | {_percent(overall['recall'])} | "
      f"{overall['fills']} | {overall['out_of_category_fills']} | {_percent(overall['na_left_empty'])} |",
      '',
      f'| category | {counters} | out-of-category fills |',
      rule + '|---:|',
      f"| **overall** | {_cells(overall)} | {overall['out_of_category_fills']} |",
      *(f"| {category} | {_cells(row)} | {row['out_of_category_fills']} |"
        for category, row in report['per_category'].items()),
      '',
      f'| category | attribute | {counters} |',
      '|---' + rule + '|',
      *(f'| {category} | {attribute} | {_cells(row)} |'
        for category, names in report['per_attribute'].items() for attribute, row in names.items()),
      '',
      'vc: a gold surface form; vw: another value; vn: a gold value left empty; nv: a fill where '
      "WDC-PAVE has no value (n/a, or outside the offer's category); nn: n/a left empty.",
  ]
  if report.get('per_kind'):
    lines += ['', '| normalisation | gold values | vc | vw | vn | R % | right of filled % |', '|---|---:|---:|---:|---:|---:|---:|']
    for kind, row in report['per_kind'].items():
      filled = row['vc'] + row['vw']
      lines.append(f"| {kind} | {row['vc'] + row['vw'] + row['vn']} | {row['vc']} | {row['vw']} | {row['vn']} | "
                   f"{_percent(row['recall'])} | {_percent(row['vc'] / filled if filled else None)} |")
  return '\n'.join(lines)


def read_enriched(pattern: str, min_confidence: float = 0.0, spelling: str = 'catalog') -> List[dict]:
  """product_id and the value columns of every enriched file matching the pattern; a fill
  whose confidence is below min_confidence is read as empty (a stricter threshold than the
  run's, to see what it would give). spelling 'text': each filled value column holds its
  span instead (the text's spelling of the same fill)."""
  if spelling not in SPELLINGS:
    raise ValueError(f'spelling must be one of {SPELLINGS}, got {spelling!r}')
  paths = sorted(glob.glob(pattern))
  if not paths:
    raise FileNotFoundError(f'no enriched catalog file matches {pattern}')
  rows = []
  for path in paths:
    names = pq.read_schema(path).names
    if wdc.ID not in names:
      raise ValueError(f'{path} has no {wdc.ID} column')
    columns = [c for c in names if c == wdc.ID or c.endswith((VALUE_SUFFIX, CONFIDENCE_SUFFIX, SPAN_SUFFIX))]
    if spelling == 'text' and not any(c.endswith(SPAN_SUFFIX) for c in columns):
      raise ValueError(f'{path} has no *{SPAN_SUFFIX} column: written before the catalog\'s spelling existed')
    for row in pq.read_table(path, columns=columns).to_pylist():
      for column in [c for c in row if c.endswith(SPAN_SUFFIX)]:
        span = row.pop(column)
        value_column = column[:-len(SPAN_SUFFIX)] + VALUE_SUFFIX
        if spelling == 'text' and is_filled(row.get(value_column)):
          row[value_column] = span
      for column in [c for c in row if c.endswith(CONFIDENCE_SUFFIX)]:
        confidence = row.pop(column)
        if confidence is not None and confidence < min_confidence:
          row[column[:-len(CONFIDENCE_SUFFIX)] + VALUE_SUFFIX] = None
      rows.append(row)
  return rows


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument('--enriched', required=True, help="the run's catalog-*.parquet files (a glob pattern)")
  parser.add_argument('--variant', choices=sorted(wdc.VARIANTS), default='raw',
                      help='whose gold: the surface forms as the text says them, or the normalised ones')
  parser.add_argument('--data-dir', default=wdc.DATA)
  parser.add_argument('--strict-case', action='store_true', help='a value in another case is wrong')
  parser.add_argument('--min-confidence', type=float, default=0.0,
                      help='read fills below this confidence as empty (default: every fill counts)')
  parser.add_argument('--spelling', choices=SPELLINGS, default='catalog',
                      help="score the value columns (the catalog's spelling) or the spans of the same fills")
  parser.add_argument('--json', help='also write the report here')
  args = parser.parse_args(argv)
  try:
    offers = wdc.read_offers(wdc.offers_file('test', args.variant, args.data_dir))
    kinds = (kinds_of(offers, wdc.read_offers(wdc.offers_file('test', 'raw', args.data_dir)))
             if args.variant == 'normalized' else None)
    report = score(read_enriched(args.enriched, args.min_confidence, args.spelling), offers,
                   fold_case=not args.strict_case, kinds=kinds)
  except (FileNotFoundError, ValueError) as error:
    raise SystemExit(f'wdc_pave_score: {error}')
  print(markdown(report))
  if args.json:
    with open(args.json, 'w', encoding='utf-8') as f:
      json.dump(report, f, indent=2, ensure_ascii=False)
  return report


if __name__ == '__main__':
  main()
