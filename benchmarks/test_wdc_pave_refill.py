"""Filling a WDC-PAVE run's catalog again from its answers, on hand-made offers and answers."""
from benchmarks import wdc_pave_refill as refill
from benchmarks import wdc_pave_score
from catalog import vocabulary, writer
from catalog.columns import output_columns


def _value(*forms):
  return {form: {'pid': [0], 'score': 1} for form in forms}


OFFERS = {'1': {'id': 1, 'category': 'Computers', 'input_title': 'Seagate 10K 2.0GHz disk',
                'target_scores': {'Rotational Speed': _value('10K'), 'Bus Speed': {'n/a': 1},
                                  'Clock Speed': _value('2.0GHz'), 'Cache': _value('8MB')}}}
ATTRIBUTES = ['Bus Speed', 'Cache', 'Clock Speed', 'Rotational Speed']
# The train row knows 10K as a rotational speed: the vocabulary the writer claims by.
ROWS = [{'product_id': '1', 'title': 'Seagate 10K 2.0GHz disk', 'category': 'Computers'},
        {'product_id': '9', 'title': 'Hitachi 10K disk', 'category': 'Computers', 'Rotational Speed': '10K'}]


def _answer(attribute, span, value_prob, seen=True, value=''):
  return {'product_id': '1', 'attribute': attribute, 'known': None, 'span_text': span,
          'value_prob': value_prob, 'attribute_seen': seen, 'value': value}


ANSWERS = [_answer('Rotational Speed', '10K', 0.9), _answer('Bus Speed', '10K', 0.95),
           _answer('Clock Speed', '2.0GHz', 0.35), _answer('Cache', '16MB', 0.2)]


def _refill(threshold, answers=ANSWERS):
  words = vocabulary.build([kv for row in ROWS for kv in writer.known_values(row, ATTRIBUTES, frozenset())])
  return refill.refill(ROWS, answers, ATTRIBUTES, threshold, words, shared={})


def test_a_lower_threshold_fills_the_spans_it_reaches_and_one_value_keeps_one_attribute():
  at_half = wdc_pave_score.score(_refill(0.5), OFFERS.values())['overall']
  at_third = wdc_pave_score.score(_refill(0.3), OFFERS.values())['overall']
  # 10K is claimed by Rotational Speed (the vocabulary's), not by the surer Bus Speed.
  assert (at_half['vc'], at_half['vw'], at_half['vn'], at_half['nv'], at_half['nn']) == (1, 0, 2, 0, 1)
  assert (at_third['vc'], at_third['vn']) == (2, 1)


def test_each_gold_value_is_counted_once_by_how_it_fared():
  losses = refill.losses(ANSWERS, _refill(0.5), OFFERS, 0.5)
  assert losses[('Computers', 'Cache')]['wrong span withheld'] == 1
  assert refill.total(losses) == {'filled right': 1, 'filled wrong': 0, 'right span withheld': 1,
                    'wrong span withheld': 1, 'claimed': 0}
  # Bus Speed's 10K at 0.95 is claimed, but Bus Speed is n/a: claims count only for gold values.
  claimed = [_answer('Rotational Speed', '10K', 0.6), _answer('Clock Speed', '10K', 0.9)]
  assert refill.total(refill.losses(claimed, _refill(0.5, claimed), OFFERS, 0.5))['claimed'] == 1


def test_an_attribute_never_trained_on_keeps_the_runs_own_decision():
  unseen = _answer('Cache', '8MB', 0.1, seen=False, value='8MB')
  assert refill.value_at(unseen, 0.9) == '8MB'
  assert refill.value_at(dict(unseen, value=''), 0.0) is None
  assert refill.value_at(_answer('Cache', '', 0.9), 0.5) is None


def test_shared_pairs_let_two_attributes_hold_one_value():
  answers = [_answer('Rotational Speed', '10K', 0.9), _answer('Clock Speed', '10K', 0.8)]
  words = vocabulary.build([])   # no vocabulary: the surer attribute holds the value
  alone = refill.refill(ROWS[:1], answers, ATTRIBUTES, 0.5, words, shared={})
  together = refill.refill(ROWS[:1], answers, ATTRIBUTES, 0.5, words,
                           shared={('Clock Speed', 'Rotational Speed'): 1})
  filled = lambda row: [a for a in ('Clock Speed', 'Rotational Speed') if row[output_columns(a)[0]]]
  assert filled(alone[0]) == ['Rotational Speed']
  assert filled(together[0]) == ['Clock Speed', 'Rotational Speed']
