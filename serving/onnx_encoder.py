"""The encoder as an ONNX graph, for ONNX Runtime's fused CPU kernels, with AVEQA's heads
and span search after it (serving/onnx_spans.py) in the graph that serving runs.

The graph is written from the trained Keras encoder's weights in the layout a PyTorch
export of Hugging Face's BertModel has (MatMul + Add per projection, Reshape/Transpose
heads, scaled scores plus the additive padding mask, Softmax, LayerNormalization), so
that ONNX Runtime's transformer optimizer recognises it and fuses each layer into its
Attention, SkipLayerNormalization and Gelu (erf) or FastGelu (tanh) kernels. Then int8: dynamic quantization
of the weights per channel (onnxruntime.quantization.quantize_dynamic).

Inputs token_ids, segment_ids, padding_mask (int32 [B, T], keras-hub's names); outputs
sequence_output float32 [B, T, D] (what AveqaModel.encode returns) and, in the served
graph, the span search's per window (what AveqaModel.span_search returns). Tokenising and
the decisions stay in the SavedModel's endpoints (serving/onnx_serving.py), the same
functions for both runtimes.
"""
import contextlib
import math
import os
from typing import Dict, List, Optional

import numpy as np

from serving import onnx_spans

INPUTS = ('token_ids', 'segment_ids', 'padding_mask')
PADDING_MASK = INPUTS[2]   # 1 where a position holds a token, 0 for padding
OUTPUT = 'sequence_output'
OPSET = 17   # LayerNormalization is a standard op from 17


def keras_weights(encoder) -> Dict[str, np.ndarray]:
  """keras-hub BertBackbone weights, as [in, out] matrices per projection."""
  def value(variable):
    return np.asarray(variable.numpy(), np.float32)

  hidden = int(encoder.hidden_dim)
  weights = {
      'word': value(encoder.token_embedding.embeddings),
      'position': value(encoder.position_embedding.position_embeddings),
      'segment': value(encoder.segment_embedding.embeddings),
      'embeddings_norm.gamma': value(encoder.embeddings_layer_norm.gamma),
      'embeddings_norm.beta': value(encoder.embeddings_layer_norm.beta),
  }
  for i, layer in enumerate(encoder.transformer_layers):
    attention = layer._self_attention_layer
    for name, dense in (('query', attention._query_dense), ('key', attention._key_dense),
                        ('value', attention._value_dense)):
      weights[f'{i}.{name}.kernel'] = value(dense.kernel).reshape(hidden, hidden)
      weights[f'{i}.{name}.bias'] = value(dense.bias).reshape(hidden)
    weights[f'{i}.attention_output.kernel'] = value(attention._output_dense.kernel).reshape(hidden, hidden)
    weights[f'{i}.attention_output.bias'] = value(attention._output_dense.bias)
    for name, norm in (('attention_norm', layer._self_attention_layer_norm),
                       ('output_norm', layer._feedforward_layer_norm)):
      weights[f'{i}.{name}.gamma'], weights[f'{i}.{name}.beta'] = value(norm.gamma), value(norm.beta)
    for name, dense in (('intermediate', layer._feedforward_intermediate_dense),
                        ('output', layer._feedforward_output_dense)):
      weights[f'{i}.{name}.kernel'], weights[f'{i}.{name}.bias'] = value(dense.kernel), value(dense.bias)
  return weights


class Graph:
  """Nodes and initializers of an ONNX graph, with fresh output names; each node is named
  after its first output, prefixed by the scope the graph is in (Graph.scoped)."""

  def __init__(self):
    from onnx import helper, numpy_helper
    self.helper, self.numpy_helper = helper, numpy_helper
    self.nodes, self.initializers, self._count, self.scope = [], [], 0, ''

  @contextlib.contextmanager
  def scoped(self, scope: str):
    self.scope = scope
    try:
      yield self
    finally:
      self.scope = ''

  def constant(self, name, array):
    self.initializers.append(self.numpy_helper.from_array(np.asarray(array), name))
    return name

  def op(self, op_type, *inputs, outputs=1, **attributes):
    """Adds a node; its output's name, or a tuple of them when outputs > 1."""
    self._count += 1
    names = [f'{self.scope}{op_type.lower()}_{self._count}' + (f'_{i}' if i else '') for i in range(outputs)]
    self.nodes.append(self.helper.make_node(op_type, list(inputs), names, name=names[0], **attributes))
    return names[0] if outputs == 1 else tuple(names)

  def dense(self, x, prefix, weights):
    return self.op('Add', self.op('MatMul', x, self.constant(prefix + '.kernel', weights[prefix + '.kernel'])),
                   self.constant(prefix + '.bias', weights[prefix + '.bias']))

  def layer_norm(self, x, prefix, weights, epsilon):
    return self.op('LayerNormalization', x, self.constant(prefix + '.gamma', weights[prefix + '.gamma']),
                   self.constant(prefix + '.beta', weights[prefix + '.beta']), axis=-1, epsilon=epsilon)


def build(weights: Dict[str, np.ndarray], num_layers: int, num_heads: int, approximate_gelu: bool,
          epsilon: float = 1e-12, search: Optional[onnx_spans.SpanSearch] = None):
  """The encoder's onnx.ModelProto (float32); with the span search (onnx_spans.py) after
  it when given, whose OUTPUTS then follow sequence_output."""
  from onnx import TensorProto, helper
  g = Graph()
  hidden = weights['word'].shape[1]
  head = hidden // num_heads
  token_ids, segment_ids, padding_mask = INPUTS
  # Embeddings: word + segment + position, then LayerNorm.
  positions = g.op('Slice', g.constant('position_range', np.arange(weights['position'].shape[0], dtype=np.int64)),
                   g.constant('zero', np.array([0], np.int64)),
                   g.op('Gather', g.op('Shape', token_ids), g.constant('sequence_axis', np.array([1], np.int64))))
  x = g.op('Add', g.op('Add', g.op('Gather', g.constant('word', weights['word']), token_ids),
                       g.op('Gather', g.constant('segment', weights['segment']), segment_ids)),
           g.op('Gather', g.constant('position', weights['position']), positions))
  x = g.layer_norm(x, 'embeddings_norm', weights, epsilon)
  # Additive mask [B, 1, 1, T]: 0 on tokens, a large negative number on padding.
  mask = g.op('Unsqueeze', g.op('Unsqueeze', padding_mask, g.constant('axis_1', np.array([1], np.int64))),
              g.constant('axis_2', np.array([2], np.int64)))
  mask = g.op('Cast', mask, to=TensorProto.FLOAT)
  half, one = g.constant('half', np.array(0.5, np.float32)), g.constant('one', np.array(1.0, np.float32))
  mask = g.op('Mul', g.op('Sub', one, mask),
              g.constant('mask_value', np.array(-10000.0, np.float32)))
  split_heads = g.constant('split_heads', np.array([0, 0, num_heads, head], np.int64))
  merge_heads = g.constant('merge_heads', np.array([0, 0, hidden], np.int64))
  scale = g.constant('scale', np.array(math.sqrt(head), np.float32))
  if approximate_gelu:
    cubic, three = g.constant('cubic', np.array(0.044715, np.float32)), g.constant('three', np.array(3.0, np.float32))
    root = g.constant('sqrt_2_over_pi', np.array(math.sqrt(2 / math.pi), np.float32))
  else:
    sqrt_2 = g.constant('sqrt_2', np.array(math.sqrt(2), np.float32))
  for i in range(num_layers):
    p = f'{i}.'
    q = g.op('Transpose', g.op('Reshape', g.dense(x, p + 'query', weights), split_heads), perm=[0, 2, 1, 3])
    k = g.op('Transpose', g.op('Reshape', g.dense(x, p + 'key', weights), split_heads), perm=[0, 2, 3, 1])
    v = g.op('Transpose', g.op('Reshape', g.dense(x, p + 'value', weights), split_heads), perm=[0, 2, 1, 3])
    scores = g.op('Add', g.op('Div', g.op('MatMul', q, k), scale), mask)
    context = g.op('MatMul', g.op('Softmax', scores, axis=-1), v)
    context = g.op('Reshape', g.op('Transpose', context, perm=[0, 2, 1, 3]), merge_heads)
    x = g.layer_norm(g.op('Add', g.dense(context, p + 'attention_output', weights), x),
                     p + 'attention_norm', weights, epsilon)
    # GELU as the checkpoint was trained (model/checkpoint.py), written as PyTorch exports it.
    h = g.dense(x, p + 'intermediate', weights)
    if approximate_gelu:
      inner = g.op('Mul', root, g.op('Add', h, g.op('Mul', cubic, g.op('Pow', h, three))))
      h = g.op('Mul', g.op('Mul', half, h), g.op('Add', one, g.op('Tanh', inner)))
    else:
      h = g.op('Mul', g.op('Mul', h, g.op('Add', g.op('Erf', g.op('Div', h, sqrt_2)), one)), half)
    x = g.layer_norm(g.op('Add', g.dense(h, p + 'output', weights), x), p + 'output_norm', weights, epsilon)
  g.nodes.append(helper.make_node('Identity', [x], [OUTPUT], name=OUTPUT))
  outputs = [helper.make_tensor_value_info(OUTPUT, TensorProto.FLOAT, ['batch', 'sequence', hidden])]
  if search is not None:
    with g.scoped(onnx_spans.SCOPE):
      found = onnx_spans.add(g, x, token_ids, segment_ids, padding_mask, search)
    for name, (dtype, shape) in onnx_spans.OUTPUT_TYPES.items():
      g.nodes.append(helper.make_node('Identity', [found[name]], [name], name=name))
      outputs.append(helper.make_tensor_value_info(name, helper.np_dtype_to_tensor_dtype(np.dtype(dtype)),
                                                   ['batch', *shape]))
  graph = helper.make_graph(
      g.nodes, 'aveqa_encoder' if search is None else 'aveqa_spans',
      [helper.make_tensor_value_info(name, TensorProto.INT32, ['batch', 'sequence']) for name in INPUTS],
      outputs, g.initializers)
  return helper.make_model(graph, opset_imports=[helper.make_opsetid('', OPSET)])


def export(encoder, approximate_gelu: bool, float32_path: str, int8_path: str,
           search: Optional[onnx_spans.SpanSearch] = None) -> Dict[str, int]:
  """Writes the fused float32 graph of the encoder (and the span search after it, when
  given) and its int8 quantization (local paths); returns what ONNX Runtime's optimizer
  fused, per operator type. approximate_gelu: the encoder's GELU is the tanh form
  (model/checkpoint.gelu_is_approximate)."""
  import onnx
  from onnxruntime.quantization import QuantType, quantize_dynamic
  from onnxruntime.transformers.optimizer import optimize_model
  raw = build(keras_weights(encoder), len(encoder.transformer_layers), int(encoder.num_heads),
              approximate_gelu, search=search)
  unfused_path = float32_path + '.unfused'
  onnx.save(raw, unfused_path)
  # opt_level 0: only the transformer fusions, so the file runs on any CPU; ONNX Runtime
  # applies its hardware-specific rewrites when it loads the graph.
  optimized = optimize_model(unfused_path, model_type='bert', num_heads=int(encoder.num_heads),
                             hidden_size=int(encoder.hidden_dim), opt_level=0)
  os.remove(unfused_path)
  optimized.save_model_to_file(float32_path)
  # The heads stay float32, as on TensorFlow: they are a small share of the work.
  heads = [node.name for node in optimized.model.graph.node if node.name.startswith(onnx_spans.SCOPE)]
  # Shape inference does not know the fused contrib ops' outputs: they are float32.
  quantize_dynamic(float32_path, int8_path, per_channel=True, weight_type=QuantType.QInt8,
                   nodes_to_exclude=heads, extra_options={'DefaultTensorType': onnx.TensorProto.FLOAT})
  return optimized.get_fused_operator_statistics()


def missing_fusions(fused: Dict[str, int], num_layers: int, approximate_gelu: bool) -> List[str]:
  """The fused kernels the optimizer should have produced per layer but did not."""
  gelu = ('FastGelu',) if approximate_gelu else ('Gelu', 'BiasGelu')   # BiasGelu: Gelu with the bias add
  expected = {('Attention',): num_layers, ('SkipLayerNormalization',): 2 * num_layers, gelu: num_layers}
  counts = {ops: sum(fused.get(op, 0) for op in ops) for ops in expected}
  return [f'{"/".join(ops)} ({counts[ops]} of {n})' for ops, n in expected.items() if counts[ops] < n]
