"""A product is asked only the attributes of its category (catalog/categories.py and
catalog_questions.build_questions)."""
import glob
import json
import os

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import tensorflow as tf

from catalog import questions as cq
from catalog import categories

ATTRIBUTES = ('Color', 'Heel Height', 'Processor Type')


def _shoe(i, **known):
  return {'product_id': f'S{i}', 'title': f'Trailwise Running Shoes {i}', 'category': 'Shoes', **known}


def _laptop(i, **known):
  return {'product_id': f'L{i}', 'title': f'Voltis Laptop {i}', 'category': 'Laptops', **known}


# 10 shoes, of which 4 know Color and 1 a Heel Height (one seller's odd value: too few rows
# to be evidence); 10 laptops, of which 3 know Processor Type and 1 says "n/a" for Color
# (a marker: the laptops have the attribute), 1 more Color; one row without a category.
ROWS = ([_shoe(i, Color='Black') for i in range(4)] + [_shoe(4, **{'Heel Height': '2 cm'})]
        + [_shoe(i) for i in range(5, 10)]
        + [_laptop(i, **{'Processor Type': 'Core i5'}) for i in range(3)] + [_laptop(3, Color='n/a'),
                                                                             _laptop(4, Color='Silver')]
        + [_laptop(i) for i in range(5, 10)]
        + [{'product_id': 'X1', 'title': 'Mystery Box', 'category': None}])
SCHEMA = pa.schema([(c, pa.string()) for c in ('product_id', 'title', 'category', *ATTRIBUTES)])


def _catalog(tmp_path, rows=ROWS, schema=SCHEMA, **settings):
  path = tmp_path / 'catalog' / 'part-0.parquet'
  path.parent.mkdir(exist_ok=True)
  pq.write_table(pa.Table.from_pylist(rows, schema=schema), str(path))
  rows_uri, questions_uri = str(tmp_path / 'rows'), str(tmp_path / 'questions')
  with beam.Pipeline() as pipeline:
    cq.build_questions(pipeline, str(path), rows_uri, questions_uri, cq.Settings(**settings))
  with open(os.path.join(rows_uri, cq.SUMMARY_FILE)) as f:
    summary = json.load(f)
  records = tf.data.TFRecordDataset(glob.glob(os.path.join(questions_uri, '*', '*')), compression_type='GZIP')
  asked = set()
  for record in records:
    feature = tf.train.Example.FromString(record.numpy()).features.feature
    if cq.KNOWN_VALUE in feature:   # an alias probe of a known cell, not a question to fill
      continue
    asked.add(tuple(feature[k].bytes_list.value[0].decode() for k in ('product_id', 'attribute')))
  return summary, asked


def test_an_attribute_applies_where_enough_rows_of_a_category_know_it():
  counts = {('Shoes', categories.ROWS): 100, ('Shoes', 'Color'): 1, ('Shoes', 'Size'): 2,
            ('Laptops', categories.ROWS): 1000, ('Laptops', 'Size'): 9, ('Laptops', 'Color'): 10}
  assert categories.learn(counts, ('Color', 'Size'), 0.01) == {'Laptops': ('Color',), 'Shoes': ('Size',)}
  assert categories.learn(counts, ('Color', 'Size'), 0.0) == {'Laptops': ('Color', 'Size'), 'Shoes': ('Size',)}


def test_a_row_is_asked_only_its_categorys_attributes_and_the_run_counts_what_was_saved(tmp_path):
  summary, asked = _catalog(tmp_path, attributes=ATTRIBUTES)
  found = summary['categories']
  assert found['applicable'] == {'Laptops': ['Color', 'Processor Type'], 'Shoes': ['Color']}
  assert {a for p, a in asked if p.startswith('S')} == {'Color'}
  assert {(p, a) for p, a in asked if p.startswith('S')} == {(f'S{i}', 'Color') for i in range(4, 10)}
  assert {a for p, a in asked if p.startswith('L')} == {'Color', 'Processor Type'}
  assert ('L3', 'Color') not in asked   # its "n/a" is known: the catalog says it has none
  assert not any(p == 'X1' for p, _ in asked)   # no category: nothing asked
  assert found['rows_without_category'] == 1
  assert found['attributes_of_no_category'] == ['Heel Height']   # one seller's value: asked of no row
  shoes = found['per_category']['Shoes']
  # Shoes: 6 unknown Colors asked; saved: Heel Height of 9, Processor Type of 10.
  assert (shoes['rows'], shoes['questions'], shoes['questions_saved']) == (10, 6, 19)
  assert summary['questions'] == {'Color': 6 + 8, 'Heel Height': 0, 'Processor Type': 7}
  assert len(asked) == sum(summary['questions'].values())
  lines = cq.summary_lines(summary)
  assert lines[1].startswith("categories ('category'): 2, 3 category attributes;") and '1 rows without' in lines[1]


def test_a_users_table_decides_and_its_unknown_categories_are_named(tmp_path):
  table = tmp_path / 'map.csv'
  table.write_text('category,attribute\nShoes,Heel Height\nShoes,Color\nWatches,Color\n')
  summary, asked = _catalog(tmp_path, attributes=ATTRIBUTES, attribute_map=str(table))
  assert summary['categories']['applicable'] == {'Shoes': ['Color', 'Heel Height'], 'Watches': ['Color']}
  assert {a for _, a in asked} == {'Color', 'Heel Height'} and not any(p.startswith('L') for p, _ in asked)
  assert summary['categories']['rows_with_unmapped_category'] == 10   # the laptops
  assert summary['categories']['map_categories_not_in_catalog'] == ['Watches']


def test_without_a_category_column_every_attribute_is_asked(tmp_path):
  summary, asked = _catalog(tmp_path, attributes=ATTRIBUTES, category_column='')
  assert summary['categories'] is None
  assert len(asked) == sum(1 for r in ROWS for a in ATTRIBUTES if not r.get(a))


def test_the_target_attributes_default_to_the_catalogs_attribute_columns(tmp_path):
  schema = SCHEMA.append(pa.field('price', pa.float64())).append(pa.field('description', pa.string()))
  summary, _ = _catalog(tmp_path, schema=schema)
  assert summary['target_attributes'] == list(ATTRIBUTES)   # not the category, description or price


def test_a_catalog_that_knows_no_value_asks_everything_and_says_why(tmp_path):
  rows = [{k: v for k, v in r.items() if k not in ATTRIBUTES} for r in ROWS]
  summary, asked = _catalog(tmp_path, rows=rows, attributes=ATTRIBUTES)
  assert 'the catalog knows no value of any target attribute' in summary['categories']['note']
  assert len(asked) == len(rows) * len(ATTRIBUTES)


def test_a_category_column_that_is_not_text_is_an_error_naming_it(tmp_path):
  schema = pa.schema([('product_id', pa.string()), ('title', pa.string()), ('category', pa.int64())])
  rows = [{'product_id': 'P1', 'title': 'Voltis Kettle', 'category': 3}]
  with pytest.raises(ValueError, match="category column 'category' holds int64, not text"):
    _catalog(tmp_path, rows=rows, schema=schema, attributes=('Color',))
  with pytest.raises(ValueError, match='--category-column Type: the catalog has no such column'):
    _catalog(tmp_path, attributes=ATTRIBUTES, category_column='Type')


@pytest.mark.parametrize('text, message', [
    ('kind,attribute\nShoes,Color\n', 'line 1 must be the header "category,attribute"'),
    ('category,attribute\nShoes\n', 'line 2: expected "category,attribute", got \'Shoes\''),
    ('category,attribute\nShoes,Color\nShoes,Colour\n', "line 3: 'Colour' is not a target attribute"),
    ('category,attribute\n', 'no category,attribute line'),
])
def test_a_bad_attribute_map_is_an_error_naming_its_line(text, message):
  with pytest.raises(ValueError, match='map.csv: .*' + message.replace('(', r'\(').replace(')', r'\)')):
    categories.read_attribute_map(text, 'map.csv', ATTRIBUTES)
