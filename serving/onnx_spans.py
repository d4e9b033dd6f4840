"""AVEQA's heads and span search as ONNX nodes after the encoder's (serving/onnx_encoder.py),
so that ONNX Runtime computes everything with weights per window and TensorFlow only
tokenises and decides (serving/onnx_serving.py).

The nodes compute what AveqaModel.span_search computes (model/aveqa.py, model/decoding.py):
the begin distribution over the title's tokens, its top-k begins, for each the end
distribution conditioned on it, the best span, the null answer's log-probability and the
no-answer head's logits. One difference in the work, not in the result: the end head is
evaluated only at the max_answer_tokens positions each begin allows, instead of at every
position and then masked; a softmax over the allowed positions is the same either way.
"""
import dataclasses
from typing import Dict

import numpy as np

from model import decoding

# Per window: the output's dtype and its shape after the window axis.
OUTPUT_TYPES = {'begin': ('int32', ()), 'end': ('int32', ()), 'log_prob': ('float32', ()),
                'null_log_prob': ('float32', ()), 'no_answer_logits': ('float32', (2,))}
OUTPUTS = tuple(OUTPUT_TYPES)
SCOPE = 'span_search/'   # the nodes' name prefix: int8 quantization leaves them float32


@dataclasses.dataclass
class SpanSearch:
  """The heads' weights ([in, out] kernels) and the search's settings."""
  weights: Dict[str, np.ndarray]
  cls_id: int
  sep_id: int
  top_k: int
  max_answer_tokens: int
  epsilon: float


def of_model(model) -> SpanSearch:
  """The span search of a trained AveqaModel."""
  def value(variable):
    return np.asarray(variable.numpy(), np.float32)
  weights = {'begin.kernel': value(model.begin_dense.kernel), 'begin.bias': value(model.begin_dense.bias),
             'end_token.kernel': value(model.end_token_dense.kernel),
             'end_token.bias': value(model.end_token_dense.bias),
             'end_begin.kernel': value(model.end_begin_dense.kernel),
             'end_norm.gamma': value(model.end_norm.gamma), 'end_norm.beta': value(model.end_norm.beta),
             'end.kernel': value(model.end_dense.kernel), 'end.bias': value(model.end_dense.bias),
             'no_answer.kernel': value(model.no_answer_dense.kernel),
             'no_answer.bias': value(model.no_answer_dense.bias)}
  return SpanSearch(weights, model.special_ids['cls'], model.special_ids['sep'], model.config.top_k_begins,
                    model.config.max_answer_tokens, float(model.end_norm.epsilon))


def add(g, hidden: str, token_ids: str, segment_ids: str, padding_mask: str, search: SpanSearch) -> Dict[str, str]:
  """Adds the span search on the encoder's output hidden [N, T, D] to the graph g
  (onnx_encoder.Graph); returns the names of its OUTPUTS."""
  from onnx import TensorProto
  w = search.weights

  def const(name, array):
    return g.constant(SCOPE + name, array)

  def int64(*values):
    return np.array(values, np.int64)

  def dense(x, name, bias=True):
    y = g.op('MatMul', x, const(name + '.kernel', w[name + '.kernel']))
    return g.op('Add', y, const(name + '.bias', w[name + '.bias'])) if bias else y

  last_axis, zero_i32 = const('last_axis', int64(-1)), const('zero_i32', np.array(0, np.int32))
  neg_inf = const('neg_inf', np.array(decoding.NEG_INF, np.float32))
  # The title's tokens: segment 0, not padding, not [CLS]/[SEP] (QuestionModel.context_mask).
  context = g.op('And', g.op('And', g.op('Equal', segment_ids, zero_i32),
                             g.op('Not', g.op('Equal', padding_mask, zero_i32))),
                 g.op('And', g.op('Not', g.op('Equal', token_ids, const('cls', np.array(search.cls_id, np.int32)))),
                      g.op('Not', g.op('Equal', token_ids, const('sep', np.array(search.sep_id, np.int32))))))
  begin_logits = g.op('Squeeze', dense(hidden, 'begin'), last_axis)
  masked_begins = g.op('Where', context, begin_logits, neg_inf)
  begin_log_probs = g.op('LogSoftmax', masked_begins, axis=-1)
  length = g.op('Slice', g.op('Shape', begin_logits), const('one_1d', int64(1)), const('two_1d', int64(2)))
  k = g.op('Min', const('top_k', int64(search.top_k)), length)
  begin_scores, begins = g.op('TopK', begin_log_probs, k, axis=-1, largest=1, sorted=1, outputs=2)
  # The ends each begin allows: its next max_answer_tokens positions inside the title.
  positions = g.op('Add', g.op('Unsqueeze', begins, last_axis),
                   const('answer_offsets', np.arange(search.max_answer_tokens, dtype=np.int64)))
  inside = g.op('Less', positions, length)
  positions = g.op('Min', positions, g.op('Sub', length, const('one', int64(1))))
  position_index = g.op('Unsqueeze', positions, last_axis)                          # [N, k, L, 1]
  allowed = g.op('And', inside, g.op('GatherND', context, position_index, batch_dims=1))
  # f_e(H_i, H_b) = w_e . LN(tanh(W_i H_i + c + W_b H_b)) at the allowed ends only.
  end_tokens = g.op('GatherND', dense(hidden, 'end_token'), position_index, batch_dims=1)    # [N, k, L, D]
  begin_states = g.op('GatherND', hidden, g.op('Unsqueeze', begins, last_axis), batch_dims=1)  # [N, k, D]
  joint = g.op('Add', end_tokens, g.op('Unsqueeze', dense(begin_states, 'end_begin', bias=False),
                                       const('axis_2', int64(2))))
  normed = g.op('LayerNormalization', g.op('Tanh', joint), const('end_norm.gamma', w['end_norm.gamma']),
                const('end_norm.beta', w['end_norm.beta']), axis=-1, epsilon=search.epsilon)
  end_logits = g.op('Squeeze', dense(normed, 'end'), last_axis)                      # [N, k, L]
  end_log_probs = g.op('LogSoftmax', g.op('Where', allowed, end_logits, neg_inf), axis=-1)
  scores = g.op('Add', g.op('Unsqueeze', begin_scores, last_axis),
                g.op('Where', allowed, end_log_probs, neg_inf))
  flat = g.op('Reshape', scores, const('flatten', int64(0, -1)))
  best = g.op('ArgMax', flat, axis=1, keepdims=0)   # the first best, as tf.argmax
  log_prob = g.op('ReduceMax', flat, axes=[1], keepdims=0)
  answer_tokens = const('max_answer_tokens', np.array(search.max_answer_tokens, np.int64))
  begin = g.op('Squeeze', g.op('GatherElements', begins, g.op('Unsqueeze', g.op('Div', best, answer_tokens),
                                                                   last_axis), axis=1), last_axis)
  end = g.op('Add', begin, g.op('Mod', best, answer_tokens))
  # A window without a title token answers begin = end = 0.
  has_context = g.op('ReduceMax', g.op('Cast', context, to=TensorProto.INT32), axes=[1], keepdims=0)
  has_context = g.op('Greater', has_context, zero_i32)
  zero_i64 = const('zero_i64', np.array(0, np.int64))
  begin = g.op('Cast', g.op('Where', has_context, begin, zero_i64), to=TensorProto.INT32)
  end = g.op('Cast', g.op('Where', has_context, end, zero_i64), to=TensorProto.INT32)
  # SQuAD 2.0's null answer: p(begin = [CLS]) under the begin softmax over [CLS] and the title.
  first = const('first', int64(0)), const('second', int64(1))
  with_cls = g.op('Concat', g.op('Slice', begin_logits, *first, first[1]),
                  g.op('Slice', masked_begins, first[1], const('end_of_axis', int64(np.iinfo(np.int64).max)), first[1]),
                  axis=1)
  null_log_prob = g.op('Gather', g.op('LogSoftmax', with_cls, axis=-1), const('zero_index', np.array(0, np.int64)),
                       axis=1)
  cls_state = g.op('Gather', hidden, const('cls_index', np.array(0, np.int64)), axis=1)
  no_answer_logits = dense(cls_state, 'no_answer')
  return dict(zip(OUTPUTS, (begin, end, log_prob, null_log_prob, no_answer_logits)))
