"""What an exported AVEQA SavedModel promises its callers: signature names per serving
precision, their outputs, and the files beside the weights.

Shared by the export (serving/export.py), the gate, bulk inference, offline
evaluation and the runner's flags; it imports no TensorFlow.

Per precision the export has an examples signature (serialized tf.Examples with title and
attribute, what bulk inference feeds) and a raw-strings one (title, attribute: string[B]).
bfloat16 computes with the float32 variables in bfloat16 (Keras mixed_bfloat16), for
CPUs with AVX512-BF16/AMX and TPUs; int8 runs the encoder's dense layers as uint8 x int8
products on oneDNN (serving/int8.py; x86 CPUs only).
"""
from model.config import MODEL_TYPES

PRECISIONS = ('float32', 'bfloat16', 'int8')

# What computes the network: TensorFlow (the SavedModel's signatures, every precision) or
# ONNX Runtime (float32 or int8 graphs of the encoder, the heads and the span search
# beside the SavedModel, run between two endpoints: ONNX_INPUTS tokenises serialized
# questions into the encoder's inputs, ONNX_ANSWERS turns the graph's span search into
# the same OUTPUTS; serving/onnx_serving.py). Both answer with the same tokeniser and
# decisions. The two endpoints are a SavedModel of their own (the Transform graph and the
# decisions, no weights), which loads in a fraction of the full one's time. It travels as
# one zip file, ONNX_ENDPOINTS: TFX's Pusher drops every saved_model.pb below the top one.
RUNTIMES = ('tensorflow', 'onnx')
# --runtime auto --precision auto (the defaults): the gate chooses by the numbers
# (serving/serving_choice.py).
AUTO = 'auto'
# What each extractor's export serves (model/config.py MODEL_TYPES): SUOpenTag has no
# transformer encoder to quantise or to hand to ONNX Runtime, so it serves float32 and
# bfloat16 on TensorFlow.
SERVED_PRECISIONS = {'aveqa': PRECISIONS, 'suopentag': ('float32', 'bfloat16')}
SERVED_RUNTIMES = {'aveqa': RUNTIMES, 'suopentag': ('tensorflow',)}
ONNX_FILES = {'float32': 'onnx/model_float32.onnx', 'int8': 'onnx/model_int8.onnx'}
ONNX_FUSIONS_FILE = 'onnx/fusions.json'
ONNX_INPUTS, ONNX_ANSWERS = 'onnx_encoder_inputs', 'onnx_answers'
ONNX_ENDPOINTS = 'onnx/endpoints.zip'

# value: the extracted text ('' for no value); span_text: the best span even when "no
# value" wins (for threshold sweeps); begin/end: the span's first and last title token;
# span_prob, no_answer_prob, value_prob (what the value threshold is compared with:
# model/aveqa.py predict_spans); attribute_seen: trained on that attribute; confidence;
# windows: how many windows of the title were read (model/windows.py; 1 unless the title
# is longer than one sequence).
OUTPUTS = ('value', 'span_text', 'begin', 'end', 'span_prob', 'no_answer_prob', 'value_prob',
           'attribute_seen', 'confidence', 'windows')

# Written by the Trainer beside the weights: the dev sweep and the chosen value threshold.
TUNING_FILE = 'value_threshold.json'
# Written by the Trainer in the Model artifact, beside Format-Serving: how it was trained
# ({'steps': N}); the gate refuses a model that was not trained.
TRAINING_FILE = 'training.json'


def signature_names(precision: str):
  """(examples signature, raw-strings signature) serving the given precision."""
  if precision not in PRECISIONS:
    raise ValueError(f'precision must be one of {PRECISIONS}, not {precision!r}')
  if precision == 'float32':
    return 'serving_default', 'predict_raw'
  return f'serving_{precision}', f'predict_raw_{precision}'


class NotExported(ValueError):
  """The model lacks the asked runtime or precision: exported before it existed, or a
  model type that does not serve it (SERVED_PRECISIONS, SERVED_RUNTIMES)."""


def check_serving(runtime: str, precision: str, model_type: str = 'aveqa') -> None:
  """Raises ValueError unless the runtime serves the precision for that model type."""
  signature_names(precision)
  if runtime not in RUNTIMES:
    raise ValueError(f'runtime must be one of {RUNTIMES}, not {runtime!r}')
  if runtime == 'onnx' and precision not in ONNX_FILES:
    raise ValueError(f'the onnx runtime serves {tuple(ONNX_FILES)}, not {precision!r}')
  if model_type not in MODEL_TYPES:
    raise ValueError(f'model type must be one of {MODEL_TYPES}, not {model_type!r}')
  if runtime not in SERVED_RUNTIMES[model_type] or precision not in SERVED_PRECISIONS[model_type]:
    raise ValueError(f'{model_type} serves {" or ".join(SERVED_PRECISIONS[model_type])} on '
                     f'{" or ".join(SERVED_RUNTIMES[model_type])}, not {precision} on {runtime}')
