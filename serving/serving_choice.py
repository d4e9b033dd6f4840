"""How a model is served when the flags leave it to the numbers (--runtime auto --precision
auto, the defaults): ONNX Runtime int8 on x86 CPUs when the gate measured its eval-split
F1 within INT8_F1_TOLERANCE points of TensorFlow float32's, else TensorFlow float32.

The gate measures both and records the choice in the blessing (BLESSING_PROPERTIES);
bulk inference serves what the blessing of the model it runs says. Where no gate measured
the model (--model DIR, the served model answering for a refused candidate, --eval-triples),
it is served the reference way, TensorFlow float32, and the log says why.
"""
import platform
from typing import Dict, NamedTuple, Optional, Tuple

from serving.contract import AUTO

REFERENCE = ('tensorflow', 'float32')   # runs every model on every machine
FAST = ('onnx', 'int8')                 # ONNX Runtime's int8 kernels: x86 CPUs
INT8_F1_TOLERANCE = 0.3                 # F1 points int8 may lose against float32
BLESSING_PROPERTIES = ('runtime', 'precision')
REASON_PROPERTY = 'serving_reason'


class Serving(NamedTuple):
  runtime: str
  precision: str
  reason: str


def explicit(runtime: str, precision: str) -> Optional[Tuple[str, str]]:
  """The serving the flags name, None when both leave it to the numbers. One of them named
  alone keeps the reference's value for the other."""
  if runtime == AUTO and precision == AUTO:
    return None
  return (REFERENCE[0] if runtime == AUTO else runtime, REFERENCE[1] if precision == AUTO else precision)


def named_or_reference(runtime: str, precision: str) -> Tuple[str, str]:
  """The serving the flags name, or the reference where no gate chooses (--eval-triples),
  and to check the flags against a model type."""
  return explicit(runtime, precision) or REFERENCE


def is_x86(machine: Optional[str] = None) -> bool:
  return (machine or platform.machine()).lower() in ('x86_64', 'amd64', 'i386', 'i686')


def by_f1(f1: Dict[Tuple[str, str], float]) -> Serving:
  """The gate's choice given the eval-split F1 (0-1) of REFERENCE and, when it was measured, FAST."""
  reference = f1[REFERENCE]
  if FAST not in f1:
    return Serving(*REFERENCE, 'ONNX int8 not measured (not an x86 CPU, or a model without ONNX graphs)')
  loss = 100 * (reference - f1[FAST])
  verdict = (f'ONNX int8 F1 {100 * f1[FAST]:.2f} vs TensorFlow float32 {100 * reference:.2f} '
             f'({-loss:+.2f} points; tolerance -{INT8_F1_TOLERANCE})')
  if loss <= INT8_F1_TOLERANCE + 1e-9:
    return Serving(*FAST, verdict)
  return Serving(*REFERENCE, verdict)


def of_blessing(runtime: str, precision: str, blessing, model_is_the_blessed_one: bool) -> Serving:
  """What bulk inference serves: the flags' serving, else the gate's choice recorded in the
  blessing of the model that answers, else the reference."""
  named = explicit(runtime, precision)
  if named is not None:
    return Serving(*named, 'named by --runtime/--precision')
  if blessing is None or not model_is_the_blessed_one:
    return Serving(*REFERENCE, 'no gate measured this model: the reference serving')
  chosen = tuple(blessing.get_string_custom_property(key) for key in BLESSING_PROPERTIES)
  if not all(chosen):
    return Serving(*REFERENCE, 'its blessing predates the serving choice: the reference serving')
  if chosen == FAST and not is_x86():
    return Serving(*REFERENCE, 'the gate chose ONNX int8, but this is not an x86 CPU')
  return Serving(*chosen, blessing.get_string_custom_property(REASON_PROPERTY) or 'the gate\'s choice')
