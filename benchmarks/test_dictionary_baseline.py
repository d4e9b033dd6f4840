from benchmarks import dictionary_baseline


def test_dictionary_baseline_takes_the_longest_known_value():
  dictionary = dictionary_baseline.train_dictionary([
      ('t', 'Color', 'Blue'), ('t', 'Color', 'Sky Blue'), ('t', 'Color', 'NULL'), ('t', 'Material', 'Wool')])
  assert dictionary_baseline.predict(dictionary, 'Sky Blue Wool Scarf', 'Color') == 'Sky Blue'
  assert dictionary_baseline.predict(dictionary, 'Bluebird Scarf', 'Color') is None
  assert dictionary_baseline.predict(dictionary, 'Scarf', 'Brand Name') is None


def test_dictionary_baseline_breaks_length_ties_by_training_frequency():
  rows = [('t', 'Color', 'Red'), ('t', 'Color', 'Tan'), ('t', 'Color', 'Tan'), ('t', 'Color', 'Sky')]
  for order in (rows, rows[::-1]):   # the answer must not depend on the order seen
    dictionary = dictionary_baseline.train_dictionary(order)
    assert dictionary_baseline.predict(dictionary, 'Red Tan Sky Scarf', 'Color') == 'Tan'
    assert dictionary['Color'] == ['Tan', 'Red', 'Sky']
