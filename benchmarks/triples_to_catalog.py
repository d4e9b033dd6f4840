"""An AE-pub-style triples file -> a catalog with known values (issue 18), so that mining
the catalog's known values can be measured on real data.

One row per distinct title (product_id: a hash of the title), a column per attribute that
has a value in the chosen part, holding that value (several different values of one
attribute: joined with '; ', which catalog_mining reads as several values). NULL triples
give no value: in a catalog an attribute the seller did not fill is just empty. The part
is chosen by the pipeline's own split rule, so the catalog of the random split's train part
holds exactly the titles and values the labelled run trained on.

  .venv/bin/python benchmarks/triples_to_catalog.py --triples '../shared/data/ae-pub/opentags.*' \\
      --split random --part train --output outputs/ae-pub-train-catalog/catalog.parquet \\
      --attributes-file outputs/ae-pub-train-catalog/attributes.txt
"""
import argparse
import hashlib
import os
import sys

import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from components import splits, triples  # noqa: E402
from pipelines import configs  # noqa: E402


def catalog_rows(triples_pattern, rule, part, only=(), dedupe=True):
  """(rows, attributes): one dict per title, and the attributes given a column (those of
  `only` when given)."""
  import tensorflow as tf
  lines = []
  for path in triples.triples_files(triples_pattern):
    with tf.io.gfile.GFile(path, 'rb') as f:
      lines.extend(raw.rstrip(b'\r\n') for raw in f if raw.strip())
  values = {}
  for line in sorted(set(lines)) if dedupe else lines:
    parsed = triples.parse_line(line)
    if isinstance(parsed, str) or rule.split_of(line.decode('utf-8'), parsed.title, parsed.attribute) != part:
      continue
    known = values.setdefault(parsed.title, {})
    if not parsed.is_null and parsed.value not in known.setdefault(parsed.attribute, []):
      known[parsed.attribute].append(parsed.value)
  attributes = sorted({a for known in values.values() for a, v in known.items() if v
                       and (not only or a in only)})
  rows = [{'product_id': 'T' + hashlib.sha1(title.encode('utf-8')).hexdigest()[:16], 'title': title,
           **{a: '; '.join(known[a]) if known.get(a) else None for a in attributes}}
          for title, known in sorted(values.items())]
  return rows, attributes


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--triples', required=True)
  parser.add_argument('--split', default='random', choices=splits.RULES)
  parser.add_argument('--part', default=splits.TRAIN, choices=(splits.TRAIN, splits.EVAL))
  parser.add_argument('--seed', type=int, default=0)
  parser.add_argument('--eval-percent', type=int, default=configs.SplitConfig().eval_percent)
  parser.add_argument('--output', required=True, help='Parquet file to write')
  parser.add_argument('--attributes', type=lambda t: tuple(a.strip() for a in t.split(',') if a.strip()),
                      default=(), help='comma-separated: only these columns (default: every attribute)')
  parser.add_argument('--attributes-file', help='also write the attributes, one per line')
  args = parser.parse_args(argv)
  rule = splits.SplitRule(args.split, args.seed, args.eval_percent, configs.SplitConfig().held_out)
  rows, attributes = catalog_rows(args.triples, rule, args.part, args.attributes)
  os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
  schema = pa.schema([('product_id', pa.string()), ('title', pa.string())]
                     + [(a, pa.string()) for a in attributes])
  pq.write_table(pa.Table.from_pylist(rows, schema=schema), args.output)
  if args.attributes_file:
    with open(args.attributes_file, 'w') as f:
      f.write(''.join(a + '\n' for a in attributes))
  known = sum(r[a] is not None for r in rows for a in attributes)
  print(f'{len(rows)} products, {len(attributes)} attributes, {known} known values -> {args.output}')


if __name__ == '__main__':
  main()
