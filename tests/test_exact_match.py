import pytest

from model.exact_match import Counts, normalize, same_value, score


def test_five_counters_by_hand():
  overall, per_attribute = score([
      ('Color', 'NULL', None),          # NN
      ('Color', 'NULL', 'Red'),         # NV: false positive
      ('Brand Name', 'Nike', None),     # VN: false negative
      ('Brand Name', 'Nike', 'Nike'),   # VC
      ('Brand Name', 'Nike', 'Nike Air'),  # VW: wrong span
  ])
  assert (overall.nn, overall.nv, overall.vn, overall.vc, overall.vw) == (1, 1, 1, 1, 1)
  assert overall.precision == pytest.approx(1 / 3)   # VC / (NV + VC + VW)
  assert overall.recall == pytest.approx(1 / 3)      # VC / (VN + VC + VW)
  assert overall.f1 == pytest.approx(1 / 3)
  assert per_attribute['Color'].precision == 0.0
  assert per_attribute['Brand Name'].precision == pytest.approx(1 / 2)
  assert per_attribute['Brand Name'].recall == pytest.approx(1 / 3)
  assert per_attribute['Brand Name'].f1 == pytest.approx(0.4)


def test_null_gold_predicted_value_only_hurts_precision():
  c = Counts()
  c.add('Cotton', 'Cotton')
  c.add(None, 'Red')
  assert c.precision == pytest.approx(0.5)
  assert c.recall == 1.0


def test_non_null_gold_predicted_null_only_hurts_recall():
  c = Counts()
  c.add('Cotton', 'Cotton')
  c.add('Red', 'NULL')
  assert c.precision == 1.0
  assert c.recall == pytest.approx(0.5)


def test_one_equality_whitespace_and_case_with_a_strict_variant():
  c = Counts()
  c.add('Rose Gold', ' Rose   Gold ')
  c.add('Black', 'BLACK')   # a catalog's spelling against the title's: the same value
  assert (c.vc, c.vw) == (2, 0)
  strict = Counts()
  strict.add('Black', 'BLACK', fold_case=False)
  assert strict.vw == 1


def test_a_value_with_several_surface_forms_is_right_as_any_of_them():
  forms = ('Xeon E5335', 'Intel Xeon E5335')
  assert same_value('intel xeon e5335', forms) and not same_value('Xeon', forms)
  c = Counts()
  c.add(forms, 'Intel Xeon E5335')
  c.add(forms, 'E5335')
  c.add((), 'E5335')   # no form: no value
  assert (c.vc, c.vw, c.nv) == (1, 1, 1)


def test_empty_counts_are_zero_not_nan():
  assert Counts().f1 == 0.0
  assert normalize(None) == '' and normalize('NULL') == ''


def test_merge_adds_counters():
  a, b = Counts(1, 2, 3, 4, 5), Counts(5, 4, 3, 2, 1)
  assert Counts(6, 6, 6, 6, 6) == a.merge(b)
