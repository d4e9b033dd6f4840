"""Which model fills the catalog when the gate refuses the new one (serving/model_choice.py)."""
from serving.model_choice import ModelChoice, choose


def test_a_blessed_candidate_fills_and_a_refused_one_gives_way_to_the_served_model():
  assert choose('new', True, '', 'served', False) == ModelChoice('new', False, '')
  assert choose('new', False, 'F1 too low', 'served', False) == ModelChoice('served', True, 'F1 too low')


def test_nothing_fills_when_asked_so_or_when_nothing_was_ever_blessed():
  assert choose('new', False, 'F1 too low', 'served', True) == ModelChoice(None, False, 'F1 too low')
  assert choose('new', False, 'F1 too low', None, False) == ModelChoice(None, False, 'F1 too low')


def test_a_model_given_without_a_gate_fills():
  assert choose('given', None, '', None, True) == ModelChoice('given', False, '')
