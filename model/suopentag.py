"""SUOpenTag (Xu et al., ACL 2019, "Scaling Up Open Tagging from Tens to Thousands"): the
baseline the AVEQA paper compares with (74.92 vs 85.01 F1 on AE-pub).

Attribute value extraction as sequence tagging with one global set of BIO tags for every
attribute; the attribute is a query the title is read against:

  word embeddings   E (initialised from the checkpoint's WordPiece embeddings, trained)
  title             h_t = BiLSTM_title(E x_t)                     per title token
  attribute         r_a = BiLSTM_attr(E a) (last forward and first backward states)
  cross-attention   alpha_t = softmax_t(h_t^T W_a r_a),  c_t = alpha_t r_a
  output            CRF over emissions W_o LayerNorm([h_t; c_t]) with tags O, B, I

It reads the same Transform output as AVEQA ("[CLS] title [SEP] attribute [SEP]" windows,
WordPiece tokens) and answers through the same interface (model/extraction.py), so the
Trainer, the threshold tuning, the serving signatures and the gate serve either model.

Choices the paper leaves open (docs/model.md, "SUOpenTag"):
- The answer is the first chunk of the Viterbi tagging (conlleval's rule: an I after an O
  starts a chunk); a tagging without a chunk is "no value".
- no_answer_prob = p(every title token O | title, attribute) under the CRF, value_prob =
  1 - no_answer_prob when the Viterbi tagging has a chunk (else 0), span_prob = p(the
  Viterbi tagging). So the value threshold and the rule for attributes never trained on
  mean what they mean for AVEQA.
- Tokens outside the title ([CLS], [SEP], the attribute, padding) are tagged O by
  construction: their B and I emissions are -1e4.
"""
import dataclasses

import keras
import tensorflow as tf

from model import crf, value_threshold
from model.config import DEFAULT_VALUE_THRESHOLD, ModelConfig
from model.extraction import QuestionModel

O, B, I = 0, 1, 2   # noqa: E741  (the tag names of the paper)
TAGS = ('O', 'B', 'I')
FORBIDDEN = -1e4    # emission of B or I outside the title


@dataclasses.dataclass
class SuOpenTagConfig:
  """What the network and its decisions need (from_settings: of ModelConfig, whose defaults
  are the model's)."""
  units: int                      # LSTM units per direction
  dropout: float
  value_threshold: float          # a value is returned when p(value) reaches it
  max_seq_length: int             # tokens per window (model/windows.py)
  window_overlap: int             # title tokens shared by consecutive windows
  # The rule for attributes never trained on (model/value_threshold.py), tuned after training.
  unseen_kind: str = value_threshold.DEFAULT_UNSEEN_RULE[0]
  unseen_threshold: float = value_threshold.DEFAULT_UNSEEN_RULE[1]

  @classmethod
  def from_settings(cls, settings: ModelConfig = ModelConfig(),
                    threshold: float = DEFAULT_VALUE_THRESHOLD) -> 'SuOpenTagConfig':
    return cls(units=settings.tagger_units, dropout=settings.dropout, value_threshold=threshold,
               max_seq_length=settings.max_seq_length, window_overlap=settings.window_overlap)


def bio_tags(begin, end, has_answer, length):
  """[B, length] tags of spans given as first and last position (inclusive; rows without
  an answer are all O)."""
  positions = tf.range(length)[tf.newaxis, :]
  begin, end = tf.cast(begin, tf.int32)[:, tf.newaxis], tf.cast(end, tf.int32)[:, tf.newaxis]
  answered = tf.cast(has_answer, tf.bool)[:, tf.newaxis]
  tags = tf.where(positions == begin, B, tf.where((positions > begin) & (positions <= end), I, O))
  return tf.where(answered, tags, O)


def first_chunk(tags):
  """The first chunk of each BIO tagging [B, T]: (found [B] bool, first, last [B] int32).
  A chunk starts at B, or at an I that follows O or the start (conlleval), and runs
  through the I tags after it."""
  tags = tf.cast(tags, tf.int32)
  previous = tf.pad(tags[:, :-1], [[0, 0], [1, 0]], constant_values=O)
  starts = (tags == B) | ((tags == I) & (previous == O))
  found = tf.reduce_any(starts, -1)
  first = tf.argmax(tf.cast(starts, tf.int32), -1, output_type=tf.int32)
  positions = tf.range(tf.shape(tags)[1])[tf.newaxis, :]
  stops = (positions > first[:, tf.newaxis]) & (tags != I)
  length = tf.shape(tags)[1]
  stop = tf.reduce_min(tf.where(stops, positions, length), -1)
  return found, tf.where(found, first, 0), tf.where(found, stop - 1, 0)


class SuOpenTagModel(QuestionModel):
  """Inputs as AveqaModel's: token_ids, segment_ids, padding_mask [B, T] (+ labels when
  training: begin_position, end_position, has_answer [B])."""

  model_type = 'suopentag'   # serving/contract.py MODEL_TYPES

  def __init__(self, word_embeddings, special_ids, config: SuOpenTagConfig, **kwargs):
    super().__init__(**kwargs)
    self.config = config
    self.special_ids = dict(special_ids)
    vocabulary, width = word_embeddings.shape
    self.embedding = keras.layers.Embedding(
        vocabulary, width, embeddings_initializer=keras.initializers.Constant(word_embeddings),
        name='word_embeddings')
    self.title_lstm = keras.layers.Bidirectional(
        keras.layers.LSTM(config.units, return_sequences=True), name='title_lstm')
    self.attribute_lstm = keras.layers.Bidirectional(keras.layers.LSTM(config.units), name='attribute_lstm')
    self.attention = keras.layers.Dense(2 * config.units, use_bias=False, name='attention')   # W_a
    self.norm = keras.layers.LayerNormalization(name='norm')
    self.dropout = keras.layers.Dropout(config.dropout)
    self.emission_dense = keras.layers.Dense(len(TAGS), name='emissions')
    self.embedding.build((None, None))
    self.title_lstm.build((None, None, width))
    self.attribute_lstm.build((None, None, width))
    self.attention.build((None, 2 * config.units))
    self.norm.build((None, None, 4 * config.units))
    self.emission_dense.build((None, None, 4 * config.units))
    zeros = keras.initializers.Zeros()
    self.transitions = self.add_weight(shape=(len(TAGS), len(TAGS)), initializer=zeros, name='transitions')
    self.start_scores = self.add_weight(shape=(len(TAGS),), initializer=zeros, name='start_scores')
    self.end_scores = self.add_weight(shape=(len(TAGS),), initializer=zeros, name='end_scores')
    self.built = True
    self.loss_trackers = {'loss': keras.metrics.Mean(name='loss')}

  # The title's tokens are positions 1..n of a window; the tagger reads positions 1.. so
  # that they come first (the CRF and the LSTM take masks that are prefixes).
  def title_mask(self, inputs):
    """[B, T-1] bool: title tokens among positions 1.., with position 1 always on so that
    a window without title tokens still has a tagging (all O)."""
    context = self.context_mask(inputs)[:, 1:]
    return context | (tf.range(tf.shape(context)[1]) == 0)[tf.newaxis, :]

  def emissions(self, inputs, training=False):
    """[B, T-1, 3] tag scores of positions 1.. of each window, float32."""
    context = self.context_mask(inputs)[:, 1:]
    title = self.title_lstm(self.embedding(inputs['token_ids'][:, 1:]), mask=self.title_mask(inputs),
                            training=training)
    is_attribute = self.attribute_mask(inputs)
    attribute_ids = tf.ragged.boolean_mask(inputs['token_ids'], is_attribute)
    attribute = self.attribute_lstm(self.embedding(attribute_ids.to_tensor()),
                                    mask=tf.ones_like(attribute_ids, tf.bool).to_tensor(),
                                    training=training)                               # r_a [B, 2u]
    scores = tf.einsum('btd,bd->bt', tf.cast(title, tf.float32),
                       tf.cast(self.attention(attribute), tf.float32))
    alpha = tf.nn.softmax(tf.where(context, scores, -1e9), -1) * tf.cast(context, tf.float32)
    attended = alpha[:, :, tf.newaxis] * tf.cast(attribute, tf.float32)[:, tf.newaxis, :]   # c_t
    joint = tf.concat([tf.cast(title, tf.float32), attended], -1)
    emissions = tf.cast(self.emission_dense(self.dropout(self.norm(tf.cast(joint, title.dtype)),
                                                         training=training)), tf.float32)
    allowed = tf.stack([tf.ones_like(context), context, context], -1)   # O anywhere, B and I in the title
    return tf.where(allowed, emissions, FORBIDDEN)

  def crf_parameters(self):
    return (tf.cast(self.transitions, tf.float32), tf.cast(self.start_scores, tf.float32),
            tf.cast(self.end_scores, tf.float32))

  def call(self, inputs, training=False):
    return {'emissions': self.emissions(inputs, training)}

  # ---- inference -------------------------------------------------------------------
  def predict_spans(self, inputs, searched=None):
    """The first chunk of the Viterbi tagging per window, as AveqaModel.predict_spans
    answers: begin/end sequence positions, span_prob, no_answer_prob, value_prob and the
    decision. searched is AVEQA's span search from another runtime: this model has none."""
    if searched is not None:
      raise ValueError('SUOpenTag has no span search to compute elsewhere (ONNX Runtime serves AVEQA only)')
    emissions, mask = self.emissions(inputs), self.title_mask(inputs)
    parameters = self.crf_parameters()
    tags, best = crf.viterbi(emissions, mask, *parameters)
    log_z = crf.log_partition(emissions, mask, *parameters)
    all_o = crf.sequence_score(emissions, tf.zeros_like(tags), mask, *parameters)
    found, first, last = first_chunk(tags)
    no_answer_prob = tf.exp(tf.minimum(all_o - log_z, 0.0))
    spans = {'begin': tf.where(found, first + 1, 0), 'end': tf.where(found, last + 1, 0),
             'span_prob': tf.exp(tf.minimum(best - log_z, 0.0)), 'no_answer_prob': no_answer_prob,
             'value_prob': tf.where(found, 1.0 - no_answer_prob, 0.0)}
    return self.decide(inputs, self.context_mask(inputs), spans, has_span=found)

  # ---- training --------------------------------------------------------------------
  def compute_losses(self, features, training):
    """The CRF's negative log-likelihood of the gold tagging, weighted per example."""
    emissions, mask = self.emissions(features, training), self.title_mask(features)
    gold = bio_tags(tf.cast(features['begin_position'], tf.int32) - 1,
                    tf.cast(features['end_position'], tf.int32) - 1,
                    features['has_answer'], tf.shape(emissions)[1])
    parameters = self.crf_parameters()
    nll = (crf.log_partition(emissions, mask, *parameters)
           - crf.sequence_score(emissions, gold, mask, *parameters))
    weights = self.example_weights(features)
    return {'loss': tf.math.divide_no_nan(tf.reduce_sum(weights * nll), tf.reduce_sum(weights))}


def build_model(checkpoint, config: SuOpenTagConfig) -> SuOpenTagModel:
  """SUOpenTag with the checkpoint's WordPiece vocabulary, its word embeddings as the start."""
  from model.checkpoint import word_embeddings
  return SuOpenTagModel(word_embeddings(checkpoint), checkpoint.special_ids, config, name='suopentag')


def summary_lines(model: SuOpenTagModel):
  """What a user should know about this instance, for the Trainer log."""
  c = model.config
  return [f'SUOpenTag: BiLSTM {c.units} units per direction, cross-attention, CRF over {"/".join(TAGS)}',
          f'  word embeddings: {model.embedding.input_dim} x {model.embedding.output_dim}, trained']

