"""--runtime auto --precision auto: how the gate's numbers choose the serving, and what
bulk inference then serves (serving/serving_choice.py)."""
import pytest

from serving import serving_choice
from serving.serving_choice import FAST, REFERENCE


class _Blessing:
  def __init__(self, **properties):
    self.properties = properties

  def get_string_custom_property(self, key):
    return self.properties.get(key, '')


def test_named_flags_win_and_one_named_alone_keeps_the_reference_for_the_other():
  assert serving_choice.explicit('auto', 'auto') is None
  assert serving_choice.explicit('onnx', 'int8') == ('onnx', 'int8')
  assert serving_choice.explicit('auto', 'int8') == ('tensorflow', 'int8')
  assert serving_choice.explicit('onnx', 'auto') == ('onnx', 'float32')


@pytest.mark.parametrize('int8_f1, chosen', [(0.800, FAST), (0.797, FAST), (0.7969, REFERENCE), (0.81, FAST)])
def test_int8_serves_when_its_f1_is_within_the_tolerance(int8_f1, chosen):
  served = serving_choice.by_f1({REFERENCE: 0.800, FAST: int8_f1})
  assert (served.runtime, served.precision) == chosen
  assert f'{100 * int8_f1:.2f}' in served.reason


def test_without_an_int8_measurement_the_reference_serves():
  assert serving_choice.by_f1({REFERENCE: 0.5})[:2] == REFERENCE


def test_bulk_inference_serves_what_the_blessing_of_the_answering_model_says(monkeypatch):
  monkeypatch.setattr(serving_choice.platform, 'machine', lambda: 'x86_64')
  chose_int8 = _Blessing(runtime='onnx', precision='int8', serving_reason='within tolerance')
  assert serving_choice.of_blessing('auto', 'auto', chose_int8, True)[:2] == FAST
  assert serving_choice.of_blessing('tensorflow', 'bfloat16', chose_int8, True)[:2] == ('tensorflow', 'bfloat16')
  # The served model answering for a refused candidate, --model DIR, a blessing from before
  # the choice existed: no gate measured it, the reference serves.
  assert serving_choice.of_blessing('auto', 'auto', chose_int8, False)[:2] == REFERENCE
  assert serving_choice.of_blessing('auto', 'auto', None, True)[:2] == REFERENCE
  assert serving_choice.of_blessing('auto', 'auto', _Blessing(), True)[:2] == REFERENCE
  monkeypatch.setattr(serving_choice.platform, 'machine', lambda: 'aarch64')
  served = serving_choice.of_blessing('auto', 'auto', chose_int8, True)
  assert served[:2] == REFERENCE and 'not an x86 CPU' in served.reason
