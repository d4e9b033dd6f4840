"""An AE-pub-style triples file -> a catalog with known values, so that mining
the catalog's known values can be measured on real data.

One row per distinct title (product_id: a hash of the title), a column per attribute that
has a value in the chosen part, holding that value (several different values of one
attribute: joined with '; ', which catalog_mining reads as several values). NULL triples
give no value: in a catalog an attribute the seller did not fill is just empty. The part
is chosen by the pipeline's own split rule, so the catalog of the random split's train part
holds exactly the titles and values the labelled run trained on.

Two options make the catalog hold known values its titles do not state, the case
--known-not-in-text decides (AE-pub alone has none: its values come from its titles):
  --fill-null-cells   a title annotated NULL for an attribute (the title does not state it)
                      gets a value the seller might know: another title's value of that
                      attribute that this title does not hold. Under `null` mining these are
                      correct "no value" examples.
  --respell FRACTION  that fraction of the stated values is replaced the same way, as when a
                      seller's value is a synonym or normalised form of the title's words.
                      Under `null` mining these are wrong "no value" examples.
Both draw with --seed, so a catalog is the same on every run.

  .venv/bin/python -m benchmarks.triples_to_catalog --triples '../shared/data/ae-pub/opentags.*' \\
      --split random --part train --output outputs/ae-pub-train-catalog/catalog.parquet \\
      --attributes-file outputs/ae-pub-train-catalog/attributes.txt
"""
import argparse
import hashlib
import os
import random

import pyarrow as pa
import pyarrow.parquet as pq


from catalog import splits, triples  # noqa: E402
from catalog.span_alignment import find_value_span  # noqa: E402
from pipelines import configs  # noqa: E402


def catalog_rows(triples_pattern, rule, part, only=(), dedupe=True, fill_null_cells=False,
                 respell=0.0, seed=0):
  """(rows, attributes): one dict per title, and the attributes given a column (those of
  `only` when given); fill_null_cells and respell as the module says."""
  import tensorflow as tf
  lines = []
  for path in triples.triples_files(triples_pattern):
    with tf.io.gfile.GFile(path, 'rb') as f:
      lines.extend(raw.rstrip(b'\r\n') for raw in f if raw.strip())
  values, null_cells = {}, []
  for line in sorted(set(lines)) if dedupe else lines:
    parsed = triples.parse_line(line)
    if isinstance(parsed, str) or rule.split_of(line.decode('utf-8'), parsed.title, parsed.attribute) != part:
      continue
    known = values.setdefault(parsed.title, {})
    if parsed.is_null:
      null_cells.append((parsed.title, parsed.attribute))
    elif parsed.value not in known.setdefault(parsed.attribute, []):
      known[parsed.attribute].append(parsed.value)
  attributes = sorted({a for known in values.values() for a, v in known.items() if v
                       and (not only or a in only)})
  if fill_null_cells or respell:
    _unstated_values(values, null_cells if fill_null_cells else [], respell, attributes, seed)
  rows = [{'product_id': 'T' + hashlib.sha1(title.encode('utf-8')).hexdigest()[:16], 'title': title,
           **{a: '; '.join(known[a]) if known.get(a) else None for a in attributes}}
          for title, known in sorted(values.items())]
  return rows, attributes


def _unstated_values(values, null_cells, respell, attributes, seed):
  """Gives the NULL cells, and `respell` of the stated values, a value of the same attribute
  (drawn from other titles) that the title does not hold."""
  rng = random.Random(seed)
  pool = {a: sorted({v for known in values.values() for v in known.get(a, [])}) for a in attributes}

  def unstated(title, attribute):
    for _ in range(100):
      value = rng.choice(pool[attribute])
      if not find_value_span(title, value):
        return value
    return None

  for title, attribute in sorted(set(null_cells)):
    if attribute in pool and not values[title].get(attribute):
      value = unstated(title, attribute)
      if value:
        values[title][attribute] = [value]
  for title in sorted(values):
    for attribute in attributes:
      stated = values[title].get(attribute)
      if stated and respell and rng.random() < respell:
        value = unstated(title, attribute)
        if value:
          values[title][attribute] = [value]


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
  parser.add_argument('--fill-null-cells', action='store_true',
                      help="give NULL-annotated cells a value the title does not state")
  parser.add_argument('--respell', type=float, default=0.0,
                      help='replace this fraction of stated values with ones the title does not hold')
  args = parser.parse_args(argv)
  rule = splits.SplitRule(args.split, args.seed, args.eval_percent, configs.SplitConfig().held_out)
  rows, attributes = catalog_rows(args.triples, rule, args.part, args.attributes,
                                  fill_null_cells=args.fill_null_cells, respell=args.respell,
                                  seed=args.seed)
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
