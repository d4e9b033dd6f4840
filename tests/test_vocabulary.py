"""Values in the catalog's spelling (catalog/vocabulary.py): by key, learned aliases, the
user's alias table and its errors."""
import pytest

from catalog import vocabulary as v

ATTRIBUTES = ('Brand', 'Color', 'Memory')


def _known(*pairs):
  return [((attribute, value), n) for attribute, value, n in pairs]


def test_a_span_takes_the_catalogs_spelling_when_only_case_spacing_or_punctuation_differ():
  words = v.build(_known(('Color', 'Black', 5), ('Color', 'BLACK', 1), ('Memory', '16GB', 3),
                         ('Brand', 'Stainless Steel', 2)))
  assert v.value_key('16 GB') == v.value_key('16-gb') == '16gb'
  assert words.normalise('Color', 'BLACK') == ('Black', v.BY_KEY)       # the most frequent spelling
  assert words.normalise('Memory', '16 gb') == ('16GB', v.BY_KEY)
  assert words.normalise('Brand', 'stainless-steel') == ('Stainless Steel', v.BY_KEY)
  # Another attribute's vocabulary does not apply, and a new value keeps the text's spelling.
  assert words.normalise('Brand', 'black') == ('black', v.OUTSIDE)
  assert words.normalise('Color', 'Teal') == ('Teal', v.OUTSIDE)
  assert words.normalise('Color', None) == (None, None)


def test_aliases_are_learned_from_probes_seen_often_enough_and_mostly_meaning_one_value():
  known = _known(('Brand', 'Hewlett-Packard', 9), ('Memory', '10000', 4), ('Memory', '16GB', 2))
  probes = [(('Brand', 'Hewlett-Packard', 'HP'), 3), (('Brand', 'Hewlett-Packard', 'Hewlett Packard'), 4),
            (('Memory', '10000', '10K'), 1),                                   # seen once: not yet
            (('Brand', 'Hewlett-Packard', 'Compaq'), 2), (('Brand', 'Compaq', 'compaq'), 2)]
  words = v.build(known + _known(('Brand', 'Compaq', 2)), probes)
  assert words.normalise('Brand', 'hp') == ('Hewlett-Packard', v.BY_LEARNED_ALIAS)
  assert words.normalise('Brand', 'Hewlett Packard') == ('Hewlett-Packard', v.BY_KEY)
  assert words.normalise('Memory', '10K') == ('10K', v.OUTSIDE)
  # 'Compaq' stood for two values equally often: no alias, and its own spelling is in the vocabulary.
  assert words.normalise('Brand', 'COMPAQ') == ('Compaq', v.BY_KEY)
  assert words.size() == {'values': 4, 'learned_aliases': 1, 'user_aliases': 0}


def test_an_alias_is_not_learned_for_a_value_the_vocabulary_lacks():
  words = v.build(_known(('Brand', 'Acme', 1)), [(('Brand', 'Zeta', 'Z'), 5)])
  assert words.normalise('Brand', 'Z') == ('Z', v.OUTSIDE)


def test_the_users_table_wins_over_learned_aliases_and_the_vocabulary():
  table = v.parse_aliases('attribute,alias,value\nBrand,HP,HP Inc.\nMemory,16 gigabytes,16GB\n', 'a.csv', ATTRIBUTES)
  words = v.build(_known(('Brand', 'Hewlett-Packard', 3), ('Brand', 'HP', 1)),
                  [(('Brand', 'Hewlett-Packard', 'HP'), 5)], table)
  assert words.normalise('Brand', 'hp') == ('HP Inc.', v.BY_USER_ALIAS)
  assert words.normalise('Memory', '16 Gigabytes') == ('16GB', v.BY_USER_ALIAS)


@pytest.mark.parametrize('text, message', [
    ('Brand,HP,HP Inc.\nBrand,Compaq\n', 'a.csv, line 2: expected attribute,alias,value'),
    ('Brand,HP,HP Inc.\n,x,y\n', 'line 2: expected attribute,alias,value'),
    ('Brand,HP,HP Inc.\n\nWeight,1 lb,454 g\n', "line 3: 'Weight' is not a target attribute"),
    ('Brand,HP,HP Inc.\nBrand,Compaq,Compaq\nBrand,h p,Hewlett-Packard\n',
     "line 3: 'h p' of 'Brand' is 'Hewlett-Packard' here and 'HP Inc.' on line 1"),
])
def test_a_bad_alias_table_names_the_line(text, message):
  with pytest.raises(ValueError, match=message.replace('.', r'\.').replace('(', r'\(')):
    v.parse_aliases(text, 'a.csv', ATTRIBUTES)


def test_the_same_alias_twice_with_the_same_value_is_fine_and_a_missing_file_is_named(tmp_path):
  assert v.parse_aliases('Brand,HP,HP Inc.\nBrand,hp,HP Inc.\n', 'a.csv', ATTRIBUTES) == {
      'Brand': {'HP': 'HP Inc.', 'hp': 'HP Inc.'}}
  with pytest.raises(FileNotFoundError, match='--value-aliases .*nope.csv: no such file'):
    v.read_aliases(str(tmp_path / 'nope.csv'), ATTRIBUTES)
