"""Writes the project's own small sample data (the pipeline's embedded default).

Product titles are composed here from hand-written marketplace-style parts
(invented brand names, no third-party text), so the sample can live in the
repository. Re-running this script reproduces the committed files exactly.

  data/sample/triples/triples.txt   labelled triples, AE-pub format:
                                    title \\u0001 attribute \\u0001 value (NULL = absent)
  data/sample/catalog/catalog.parquet  products to enrich: product_id, title,
                                    description, and some known attribute columns

Usage: python data/make_sample.py
"""
import os
import random

import pyarrow as pa
import pyarrow.parquet as pq

HERE = os.path.dirname(os.path.abspath(__file__))
BRANDS = ['Trailwise', 'NordPeak', 'Kitchara', 'Voltis', 'Aquaro', 'Lumora', 'Brisko',
          'Zentra', 'Hollowood', 'Quenby', 'Ostrava', 'Pellucid', 'Fjallir', 'Rivanto']
COLORS = ['Black', 'Navy Blue', 'Red', 'Rose Gold', 'Silver', 'White', 'Olive Green',
          'Grey', 'Pink', 'Khaki', 'Sky Blue', 'Orange']
GENDERS = {'Men': ["Men's", 'Men', 'for Men'], 'Women': ["Women's", 'Women', 'for Women'],
           'Unisex': ['Unisex'], 'Kids': ['Kids', "Kids'", 'for Kids']}

# (item type, materials it is made of, template). {b} brand, {m} material, {c} colour,
# {g} gender phrase, {t} item type; a slot left out of a title makes that attribute NULL.
PRODUCTS = [
    ('Running Shoes', ['Mesh', 'Genuine Leather', 'PU Leather', 'Knitted Fabric'],
     ['{b} {g} {t} {c} Breathable Lightweight {m} Sneakers Size 39-45',
      '2024 New {g} {t} {m} Upper Shock Absorbing Outdoor Jogging {c}',
      '{b} Trail {t} for Running Non-slip Rubber Sole {c}']),
    ('Yoga Mat', ['TPE', 'NBR', 'Natural Rubber', 'Cork'],
     ['{c} {m} {t} 6mm Non Slip Exercise Pad {b}',
      '{b} Eco Friendly {m} {t} with Carry Strap 183x61cm Fitness Gym',
      'Thick {t} Pilates Home Workout Mat {c} Double Sided']),
    ('Water Bottle', ['Stainless Steel', 'Tritan', 'Glass', 'Aluminum Alloy'],
     ['{b} {m} {t} 750ml Leakproof BPA Free {c}',
      'Insulated {m} Sports {t} Keeps Cold 24h Vacuum Flask 1L',
      '{t} with Time Marker {c} 2L Motivational Gym Jug {b}']),
    ('Winter Jacket', ['Polyester', 'Nylon', 'Down', 'Wool'],
     ['2024 New {b} {g} {t} {m} Hooded Parka {c}',
      '{g} Thick Warm {t} Windproof Outdoor Coat {m} Lining',
      '{b} Lightweight Packable {t} {c} Zip Up Puffer']),
    ('Kitchen Knife Set', ['Stainless Steel', 'Damascus Steel', 'Ceramic', 'High Carbon Steel'],
     ['{m} {t} 5 Pcs {b} Chef Knives with Wooden Block',
      '{b} Professional {t} {c} Handle Ultra Sharp {m} Blades',
      'Japanese {t} Santoku Paring Utility Knife Gift Box']),
    ('Wireless Earbuds', ['ABS', 'Silicone', 'Aluminum Alloy'],
     ['{t} {b} Bluetooth 5.3 Headphones {c} Charging Case',
      '{b} True {t} Noise Cancelling Sport Earphones {m} Ear Tips {c}',
      'Mini {t} Waterproof IPX5 Touch Control Headset with Mic']),
    ('Fishing Rod', ['Carbon Fiber', 'Fiberglass', 'Graphite'],
     ['{t} {m} Telescopic Spinning Pole 2.1m {b}',
      '{b} Ultralight {m} {t} Casting Sea Fishing Tackle {c}',
      'Portable Travel {t} 5 Section Freshwater Bass Pole']),
    ('Cycling Gloves', ['Lycra', 'Microfiber', 'Neoprene', 'Polyester'],
     ['{b} {t} Half Finger {m} Padded {g} MTB Bike Mitts {c}',
      'Full Finger {t} Touch Screen {g} Winter Thermal {m}',
      '{c} {t} Shockproof Breathable Road Bicycle Accessories']),
    ('Camping Tent', ['Oxford Cloth', 'Nylon', 'Polyester', 'Canvas'],
     ['{b} 4 Person {t} Waterproof {m} Double Layer {c}',
      'Instant Pop Up {t} Family Beach Shelter {m} UV Protection',
      '{t} for 2 People Ultralight Backpacking Dome {c} {b}']),
    ('Hiking Backpack', ['Nylon', 'Oxford Cloth', 'Polyester', 'Canvas'],
     ['{b} 40L {t} {m} Waterproof Trekking Daypack {c}',
      '{g} {t} Large Capacity Travel Rucksack {m} with Rain Cover',
      'Tactical {t} Military Molle Bag {c} 3 Day Assault Pack']),
    ('Sunglasses', ['Polycarbonate', 'TR90', 'Metal', 'Acetate'],
     ['{b} Polarized {t} {g} UV400 {m} Frame {c} Lens',
      'Vintage Round {t} {g} Retro {m} Eyewear Driving Shades',
      'Sports {t} Cycling Goggles {c} Windproof Outdoor Glasses']),
    ('Phone Case', ['Silicone', 'TPU', 'Genuine Leather', 'PU Leather'],
     ['{b} {m} {t} for iPhone 15 Pro Shockproof Cover {c}',
      'Wallet {t} {m} Card Holder Flip Cover {c} Magnetic',
      'Clear {t} Slim Anti-Yellow Bumper Protective Shell {b}']),
    ('Watch Band', ['Silicone', 'Stainless Steel', 'Genuine Leather', 'Nylon'],
     ['{m} {t} 22mm Quick Release Strap {c} {b}',
      '{b} Sport {t} for Smart Watch {m} Loop {g}',
      'Replacement {t} Milanese Bracelet {c} Magnetic Clasp']),
    ('Dumbbell Set', ['Cast Iron', 'Neoprene', 'Rubber', 'Vinyl'],
     ['{b} Adjustable {t} 20kg {m} Coated Home Gym Weights',
      '{c} {m} Hex {t} Pair Fitness Strength Training',
      '{t} with Storage Rack 6 Pairs {b} Free Weights']),
    ('Swimming Goggles', ['Silicone', 'Polycarbonate'],
     ['{b} Anti Fog {t} {g} UV Protection {m} Strap {c}',
      'Professional Racing {t} Mirrored Lens Waterproof {g}',
      '{t} with Ear Plugs Nose Clip Set {c} Adjustable']),
    ('Ski Helmet', ['ABS', 'EPS', 'Polycarbonate'],
     ['{b} {t} {g} {m} Shell Snowboard Head Protection {c}',
      'Integrated {t} with Goggles Removable Liner {m}',
      '{t} Adult Skating Snow Sports Safety Cap {c} {b}']),
]
TARGET_ATTRIBUTES = ['Brand Name', 'Material', 'Color', 'Gender', 'Item Type']


def _compose(rng):
  """One product: its title and the gold value of each target attribute (None = NULL)."""
  item, materials, templates = rng.choice(PRODUCTS)
  template = rng.choice(templates)
  gender = rng.choice(list(GENDERS))
  slots = {'b': rng.choice(BRANDS), 'm': rng.choice(materials), 'c': rng.choice(COLORS),
           'g': rng.choice(GENDERS[gender]), 't': item}
  title = template.format(**slots)
  gold = {'Brand Name': slots['b'], 'Material': slots['m'], 'Color': slots['c'],
          'Gender': gender, 'Item Type': item}
  used = {'Brand Name': '{b}', 'Material': '{m}', 'Color': '{c}', 'Gender': '{g}', 'Item Type': '{t}'}
  values = {a: (gold[a] if used[a] in template else None) for a in TARGET_ATTRIBUTES}
  if values['Gender'] and values['Gender'] not in title:   # e.g. "Kids'" holds "Kids"
    values['Gender'] = None
  return title, values


def make_triples(n_products, rng):
  lines, seen = [], set()
  while len(seen) < n_products:
    title, values = _compose(rng)
    if title in seen:
      continue
    seen.add(title)
    # Ask about three or four attributes per title, NULL ones included, as AE-pub does.
    for attribute in rng.sample(TARGET_ATTRIBUTES, rng.choice([3, 4])):
      lines.append(f'{title}\u0001{attribute}\u0001{values[attribute] or "NULL"}')
  return lines


def make_catalog(n_products, rng, training_titles):
  rows = []
  while len(rows) < n_products:
    title, values = _compose(rng)
    if title in training_titles or any(r['title'] == title for r in rows):
      continue
    row = {'product_id': f'SKU-{100000 + len(rows)}', 'title': title,
           'description': rng.choice([None, 'Fast shipping. 30 day returns.', 'New with tags.'])}
    # The catalog already knows some attributes (e.g. from the seller form).
    for attribute in ('Brand Name', 'Color'):
      row[attribute] = values[attribute] if rng.random() < 0.4 else None
    rows.append(row)
  # Rows a real feed contains and the pipeline must quarantine, not drop or crash on.
  rows.append({'product_id': None, 'title': 'Trailwise Hiking Backpack 30L Grey',
               'description': None, 'Brand Name': None, 'Color': None})
  rows.append({'product_id': 'SKU-100001', 'title': 'Duplicate id with another title',
               'description': None, 'Brand Name': None, 'Color': None})
  rows.append({'product_id': 'SKU-BLANK', 'title': '   ', 'description': None,
               'Brand Name': None, 'Color': None})
  return rows


def main():
  rng = random.Random(20261125)
  lines = make_triples(240, rng)
  os.makedirs(os.path.join(HERE, 'sample', 'triples'), exist_ok=True)
  with open(os.path.join(HERE, 'sample', 'triples', 'triples.txt'), 'w', encoding='utf-8') as f:
    f.write('\n'.join(lines) + '\n')
  titles = {line.split('\u0001')[0] for line in lines}
  rows = make_catalog(60, rng, titles)
  os.makedirs(os.path.join(HERE, 'sample', 'catalog'), exist_ok=True)
  schema = pa.schema([('product_id', pa.string()), ('title', pa.string()),
                      ('description', pa.string()), ('Brand Name', pa.string()),
                      ('Color', pa.string())])
  pq.write_table(pa.Table.from_pylist(rows, schema=schema),
                 os.path.join(HERE, 'sample', 'catalog', 'catalog.parquet'))
  print(f'{len(lines)} triples from {len(titles)} titles, {len(rows)} catalog rows')


if __name__ == '__main__':
  main()
