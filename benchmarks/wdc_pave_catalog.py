"""WDC-PAVE as one shop's catalog: the `train_large` offers with their known values, a
column per attribute, and the `test` offers with none, to be filled.

  .venv/bin/python -m benchmarks.wdc_pave_catalog --out outputs/wdc-pave/catalog
  .venv/bin/python -m benchmarks.wdc_pave_catalog --out DIR --variant normalized
  .venv/bin/python -m benchmarks.wdc_pave_catalog --out DIR --no-value-marker n/a

Writes DIR/catalog.parquet (product_id, title, description, category, one text column per
attribute of any category) and DIR/attribute_map.csv (category,attribute: the attributes
WDC-PAVE annotates per category, for --attribute-map runs). The data is read in place
(../shared/data/wdc-pave, research use) and written outside the repository.

A known value is one spelling, as a catalog keeps one: of the value's surface forms, the
first found in the title, else the first. An "n/a" cell (the offer's text states no value)
is empty, as most catalogs leave it, or, with --no-value-marker, that marker. Test offers
keep only id, title, description and category; benchmarks/wdc_pave_score.py scores the
filled test rows against their gold.
"""
import argparse
import csv
import json
import os
from typing import Dict, List, Optional

import pyarrow as pa
import pyarrow.parquet as pq

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(os.path.dirname(REPO), 'shared', 'data', 'wdc-pave')
VARIANTS = {'raw': 'wdc_with_all_attributes', 'normalized': 'wdc_with_all_attributes_normalized'}
NOT_STATED = 'n/a'
TITLE_PID = 0
ID, TITLE, DESCRIPTION, CATEGORY = 'product_id', 'title', 'description', 'category'


def read_offers(path: str) -> List[dict]:
  with open(path, encoding='utf-8') as f:
    return [json.loads(line) for line in f if line.strip()]


def offers_file(split: str, variant: str = 'raw', data_dir: str = DATA) -> str:
  return os.path.join(data_dir, VARIANTS[variant], f'{split}.jsonl')


def surface_forms(target) -> Optional[List[str]]:
  """The gold surface forms of one annotated cell; None for "n/a" (no value stated)."""
  if NOT_STATED in target:
    return None
  return list(target)


def catalog_value(target) -> Optional[str]:
  """The one spelling a catalog keeps of an annotated value: the first form found in the
  title, else the first form; None for "n/a"."""
  forms = surface_forms(target)
  if not forms:
    return None
  in_title = [f for f in forms if TITLE_PID in (target[f].get('pid') or [])]
  return (in_title or forms)[0]


def attribute_map(offers) -> Dict[str, List[str]]:
  """{category: its annotated attributes}, sorted."""
  found: Dict[str, set] = {}
  for offer in offers:
    found.setdefault(offer['category'], set()).update(offer['target_scores'])
  return {category: sorted(attributes) for category, attributes in sorted(found.items())}


def catalog_rows(known_offers, unknown_offers, attributes, no_value_marker=None):
  """Rows of the catalog: known_offers with their values (n/a: None or the marker), the
  unknown ones with every attribute empty."""
  rows = []
  for offer, known in [(o, True) for o in known_offers] + [(o, False) for o in unknown_offers]:
    row = {ID: str(offer['id']), TITLE: offer['input_title'], DESCRIPTION: offer['input_description'],
           CATEGORY: offer['category']}
    for attribute in attributes:
      target = offer['target_scores'].get(attribute) if known else None
      value = catalog_value(target) if target else None
      if target and value is None and no_value_marker:
        value = no_value_marker
      row[attribute] = value
    rows.append(row)
  return rows


def write_catalog(out_dir: str, variant: str = 'raw', no_value_marker: Optional[str] = None,
                  data_dir: str = DATA) -> str:
  known = read_offers(offers_file('train_large', variant, data_dir))
  unknown = read_offers(offers_file('test', variant, data_dir))
  categories = attribute_map(known + unknown)
  attributes = sorted({a for names in categories.values() for a in names})
  rows = catalog_rows(known, unknown, attributes, no_value_marker)
  schema = pa.schema([(c, pa.string()) for c in (ID, TITLE, DESCRIPTION, CATEGORY, *attributes)])
  os.makedirs(out_dir, exist_ok=True)
  path = os.path.join(out_dir, 'catalog.parquet')
  pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)
  with open(os.path.join(out_dir, 'attribute_map.csv'), 'w', newline='', encoding='utf-8') as f:
    writer = csv.writer(f)
    writer.writerow([CATEGORY, 'attribute'])
    writer.writerows((c, a) for c, names in categories.items() for a in names)
  known_cells = sum(1 for row in rows[:len(known)] for a in attributes if row[a] not in (None, no_value_marker))
  print(f'{path}: {len(known)} offers with {known_cells} known values, {len(unknown)} offers to fill, '
        f'{len(categories)} categories, {len(attributes)} attributes')
  return path


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument('--out', required=True, help='folder for catalog.parquet and attribute_map.csv')
  parser.add_argument('--variant', choices=sorted(VARIANTS), default='raw')
  parser.add_argument('--no-value-marker', default=None,
                      help="write this text in the known offers' n/a cells (default: leave them empty)")
  parser.add_argument('--data-dir', default=DATA)
  args = parser.parse_args(argv)
  write_catalog(args.out, args.variant, args.no_value_marker, args.data_dir)


if __name__ == '__main__':
  main()
