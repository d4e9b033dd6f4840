"""Scores a filled WDC-PAVE catalog (benchmarks/wdc_pave_catalog.py) on its test offers.

  .venv/bin/python -m benchmarks.wdc_pave_score --enriched 'ROOT/CatalogWriter/enriched_catalog/N/catalog-*.parquet'

For each test offer and each attribute the run filled a column for, one of the five
exact-match counters (model/exact_match.py):

  an attribute of the offer's category with a value   filled with any gold surface form: right
                                                       (vc); another value: wrong (vw); empty: vn
  an attribute of the offer's category marked n/a     filled: nv; empty: right (nn)
  an attribute of another category                    filled: nv, and counted as a fill outside
                                                       the offer's category; empty: not counted

"The same value" is the product's own equality (exact_match.same_value: case and spacing
folded); --strict-case compares case too. Prints P/R/F1 overall, per category and per
category attribute, the share of n/a cells left empty, and fills outside the category.
"""
import argparse
import collections
import json
from typing import Dict, Iterable, List, Optional

from benchmarks import wdc_pave_catalog as wdc
from catalog.columns import output_columns
from model import exact_match


def read_enriched(pattern: str) -> List[dict]:
  import pyarrow.parquet as pq
  import tensorflow as tf
  files = sorted(tf.io.gfile.glob(pattern))
  if not files:
    raise FileNotFoundError(f'no enriched catalog files match {pattern}')
  return [row for path in files for row in pq.read_table(path).to_pylist()]


def filled_attributes(row: dict, attributes: Iterable[str]) -> Dict[str, Optional[str]]:
  """{attribute: filled value or None} for the attributes with a value column in the row."""
  found = {}
  for attribute in attributes:
    column = output_columns(attribute)[0]
    if column in row:
      value = row[column]
      found[attribute] = value if value and value.strip() else None
  return found


def score(enriched_rows: Iterable[dict], test_offers: Iterable[dict], fold_case: bool = True) -> dict:
  """Counts and P/R/F1 of the test offers' fills: overall, per category, per category
  attribute; n/a cells left empty; fills outside the offer's category."""
  offers = {str(o['id']): o for o in test_offers}
  rows = {str(r['product_id']): r for r in enriched_rows if str(r['product_id']) in offers}
  missing = sorted(set(offers) - set(rows))
  if missing:
    raise ValueError(f'{len(missing)} test offers are not in the enriched catalog, e.g. {missing[:5]}')
  categories = wdc.attribute_map(offers.values())
  every_attribute = sorted({a for names in categories.values() for a in names})
  overall = exact_match.Counts()
  per_category = collections.defaultdict(exact_match.Counts)
  per_pair = collections.defaultdict(exact_match.Counts)
  outside, na_cells, na_filled, fills = 0, 0, 0, 0
  for offer_id, offer in offers.items():
    category = offer['category']
    filled = filled_attributes(rows[offer_id], every_attribute)
    for attribute, value in filled.items():
      fills += value is not None
      target = offer['target_scores'].get(attribute)
      if target is None:   # not an attribute of the offer's category
        if value is not None:
          outside += 1
          overall.add(None, value, fold_case)
          per_category[category].add(None, value, fold_case)
        continue
      gold = wdc.surface_forms(target) or ()
      if not gold:
        na_cells += 1
        na_filled += value is not None
      for counts in (overall, per_category[category], per_pair[(category, attribute)]):
        counts.add(tuple(gold), value, fold_case)
  return {'test_offers': len(offers), 'fold_case': fold_case, 'overall': overall.as_dict(),
          'fills': fills, 'fills_outside_category': outside, 'na_cells': na_cells,
          'na_left_empty': (na_cells - na_filled) / na_cells if na_cells else None,
          'per_category': {c: n.as_dict() for c, n in sorted(per_category.items())},
          'per_attribute': {f'{c} / {a}': n.as_dict() for (c, a), n in sorted(per_pair.items())}}


def markdown(report: dict) -> str:
  def line(name, c):
    return (f"| {name} | {c['vc'] + c['vw'] + c['vn']} | {c['nn'] + c['nv']} | {c['vc']} | {c['vw']} | "
            f"{c['vn']} | {c['nv']} | {100 * c['precision']:.1f} | {100 * c['recall']:.1f} | {100 * c['f1']:.1f} |")
  head = ('| | with a value | no value | right | wrong | missed | spurious | P | R | F1 |\n'
          '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|')
  na = report['na_left_empty']
  parts = [f"{report['test_offers']} test offers; {report['fills']} cells filled, "
           f"{report['fills_outside_category']} outside the offer's category; n/a cells left empty: "
           f"{'-' if na is None else f'{100 * na:.1f}%'} of {report['na_cells']}",
           '', head, line('**overall**', report['overall'])]
  parts += [line(c, counts) for c, counts in report['per_category'].items()]
  parts += ['', head.replace('| |', '| category / attribute |', 1)]
  parts += [line(a, counts) for a, counts in report['per_attribute'].items()]
  return '\n'.join(parts)


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument('--enriched', required=True, help="the run's catalog-*.parquet files (a pattern)")
  parser.add_argument('--variant', choices=sorted(wdc.VARIANTS), default='raw',
                      help='whose gold: the surface forms as the text says them, or the normalised ones')
  parser.add_argument('--data-dir', default=wdc.DATA)
  parser.add_argument('--strict-case', action='store_true', help='a value in another case is wrong')
  parser.add_argument('--json', help='also write the report here')
  args = parser.parse_args(argv)
  report = score(read_enriched(args.enriched), wdc.read_offers(wdc.offers_file('test', args.variant, args.data_dir)),
                 fold_case=not args.strict_case)
  print(markdown(report))
  if args.json:
    with open(args.json, 'w') as f:
      json.dump(report, f, indent=1)
  return report


if __name__ == '__main__':
  main()
