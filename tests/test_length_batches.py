"""Batches sorted by length and answers back in input order (serving/length_batches.py)."""
import numpy as np

from serving import length_batches


def test_batches_hold_rows_of_about_the_same_length_shortest_first():
  batches = length_batches.shortest_first([5, 1, 4, 1, 3], batch_size=2)
  assert [b.tolist() for b in batches] == [[1, 3], [4, 2], [0]]   # ties keep their order


def test_answers_go_back_to_input_order_whatever_the_batches():
  lengths = [7, 2, 9, 2, 5, 1]
  batches = length_batches.shortest_first(lengths, batch_size=4)
  outputs = [{'length': np.array([lengths[i] for i in rows]), 'row': np.array(rows)[:, None]}
             for rows in batches]
  restored = length_batches.in_input_order(batches, outputs)
  np.testing.assert_array_equal(restored['length'], lengths)
  np.testing.assert_array_equal(restored['row'][:, 0], np.arange(len(lengths)))
