"""One value, one attribute (catalog/value_claims.py): which fills another attribute of the
row claims, and which pairs the catalog's known values let share a value."""
from catalog import value_claims as vc

MARKERS = frozenset({'n/a'})


def test_pairs_share_when_a_row_knows_one_value_for_both_by_key():
  row = {'Width': '12 in', 'Depth': '12 IN', 'Height': '30 in', 'Color': 'n/a', 'Material': 'n/a'}
  known = vc.known_keys(row, ['Width', 'Depth', 'Height', 'Color', 'Material'], MARKERS)
  assert set(known) == {'Width', 'Depth', 'Height'}            # a no-value marker is no value
  assert list(vc.shared_pairs(known)) == [('Depth', 'Width')]


def test_a_list_cell_shares_when_any_of_its_values_does():
  known = vc.known_keys({'Color': ['Red', 'Steel'], 'Material': 'steel'}, ['Color', 'Material'], MARKERS)
  assert list(vc.shared_pairs(known)) == [('Color', 'Material')]


def test_the_surer_fill_holds_a_value_and_the_other_is_claimed():
  fills = {'Bus Speed': ('10K', False, 0.99), 'Rotational Speed': ('10k', False, 0.93),
           'Capacity': ('72 GB', False, 0.9)}
  assert vc.claimed(fills, {}, {}) == {'Rotational Speed': 'Bus Speed'}


def test_a_value_in_its_attributes_vocabulary_claims_before_a_surer_one_outside_it():
  fills = {'Bus Speed': ('10K', False, 0.99), 'Rotational Speed': ('10k', True, 0.6)}
  assert vc.claimed(fills, {}, {}) == {'Bus Speed': 'Rotational Speed'}
  both = {'Bus Speed': ('10K', True, 0.99), 'Rotational Speed': ('10k', True, 0.6)}
  assert vc.claimed(both, {}, {}) == {'Rotational Speed': 'Bus Speed'}


def test_a_shared_pair_keeps_both_and_a_third_exclusive_attribute_is_claimed():
  fills = {'Width': ('12 in', False, 0.8), 'Depth': ('12 in', False, 0.7), 'Height': ('12 in', False, 0.6)}
  assert vc.claimed(fills, {}, {('Depth', 'Width'): 4}) == {'Height': 'Width'}
  assert vc.claimed(fills, {}, {('Depth', 'Width'): 4, ('Height', 'Width'): 1, ('Depth', 'Height'): 2}) == {}


def test_a_known_value_claims_before_any_fill_however_sure():
  fills = {'Material': ('Walnut', True, 0.99)}
  assert vc.claimed(fills, {'Brand': {'walnut'}}, {}) == {'Material': 'Brand'}
  assert vc.claimed(fills, {'Brand': {'walnut'}}, {('Brand', 'Material'): 1}) == {}


def test_equal_evidence_goes_to_the_attribute_named_first():
  assert vc.claimed({'Brand': ('HP', False, 0.5), 'Manufacturer': ('HP', False, 0.5)}, {}, {}) == {
      'Manufacturer': 'Brand'}
  assert vc.claimed({'Manufacturer': ('HP', False, 0.5), 'Brand': ('HP', False, 0.5)}, {}, {}) == {
      'Brand': 'Manufacturer'}
