"""Does the distilled MLM keep the student near its teacher? (why QA+MLM does not
beat QA). For finished runs that started from the same checkpoint (the teacher), on the
eval titles their split did not train on, masked as the distilled MLM masks them (15%,
80/10/10, a fixed seed: the same masks for every model):

  KL(teacher || student)  of the T-softened vocabulary distributions at the masked
                          positions: the distilled MLM's own loss, which alpha > 0 lowers;
  top-1 / top-5 / perplexity of the student's hidden states through the teacher's frozen
                          MLM head (W_o): how much masked-LM knowledge the student kept.

  .venv/bin/python -m benchmarks.distillation_drift --teacher outputs/checkpoints/adapted-random-600 \
      --experiments qa-random-adapted qa-cls-random-adapted qa-mlm-random-adapted aveqa-random-adapted

The teacher row is the checkpoint itself (KL 0 by definition).
"""
import argparse
import glob
import json
import os
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def drift(student, teacher, projection, token_ids, special_ids, mask_rate, max_length, temperature,
          seed=0, batch_size=64):
  """{masked_tokens, kl, top1_accuracy, top5_accuracy, perplexity} of the student against the
  teacher on the same masked texts."""
  import math
  import tensorflow as tf
  from model.masked_lm import batches, sequences
  from model.masking import mask_tokens
  vocab_size = int(teacher.token_embedding.embeddings.shape[0])
  tokens = top1 = top5 = 0
  cross_entropy = kl = 0.0
  for step, batch in enumerate(batches(sequences(token_ids, special_ids, max_length), batch_size,
                                       special_ids['pad'])):
    masked, chosen = mask_tokens(batch['token_ids'], batch['padding_mask'], special_ids, mask_rate,
                                 vocab_size, seed=[seed, step])
    inputs = dict(batch, token_ids=masked)
    student_logits = projection(tf.boolean_mask(student(inputs, training=False)['sequence_output'], chosen))
    teacher_logits = projection(tf.boolean_mask(teacher(inputs, training=False)['sequence_output'], chosen))
    labels = tf.cast(tf.boolean_mask(batch['token_ids'], chosen), tf.int32)
    tokens += int(tf.size(labels))
    top1 += int(tf.reduce_sum(tf.cast(tf.nn.in_top_k(labels, student_logits, 1), tf.int32)))
    top5 += int(tf.reduce_sum(tf.cast(tf.nn.in_top_k(labels, student_logits, 5), tf.int32)))
    cross_entropy += float(tf.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(labels, student_logits)))
    teacher_log_probs = tf.nn.log_softmax(teacher_logits / temperature, -1)
    kl += float(tf.reduce_sum(tf.exp(teacher_log_probs) * (
        teacher_log_probs - tf.nn.log_softmax(student_logits / temperature, -1))))
  return {'masked_tokens': tokens, 'kl': kl / tokens, 'top1_accuracy': top1 / tokens,
          'top5_accuracy': top5 / tokens, 'perplexity': math.exp(cross_entropy / tokens)}


def trained_encoder(results_dir, experiment, teacher_checkpoint):
  """The run's trained encoder (its weights file), and its alpha and beta."""
  from benchmarks.reexport_model import trainer_settings
  from components import trainer
  root = os.path.join(results_dir, experiment)
  model_settings, training, _ = trainer_settings(os.path.join(root, 'metadata.sqlite'))
  model, _, _ = trainer.build_extractor(teacher_checkpoint, model_settings, training)
  weights = max(glob.glob(os.path.join(root, 'pipeline_root', 'Trainer', 'model_run', '*', 'aveqa.weights.h5')),
                key=os.path.getmtime)
  model.load_weights(weights)
  return model.encoder, model_settings


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument('--teacher', required=True, help='the checkpoint every run started from')
  parser.add_argument('--experiments', nargs='+', required=True, help='runs under --results-dir, same split')
  parser.add_argument('--results-dir', default=os.path.join(REPO, 'outputs', 'experiments'))
  parser.add_argument('--seed', type=int, default=0)
  args = parser.parse_args(argv)

  import keras
  import tensorflow as tf
  from benchmarks.matmul_rates import cpu_line
  from training import domain_adaptation
  from model.features import tokenizer_for
  from model import checkpoint as checkpoints
  from model.aveqa import VocabularyProjection
  from pipelines import configs

  teacher_checkpoint = checkpoints.read_checkpoint(args.teacher)
  if not teacher_checkpoint.mlm_head:
    raise SystemExit(f'{args.teacher} has no masked-LM head: no teacher to drift from')
  examples = max(glob.glob(os.path.join(args.results_dir, args.experiments[0], 'pipeline_root',
                                        'TriplesExampleGen', 'examples', '*')), key=os.path.getmtime)
  _, titles, counts = domain_adaptation.texts(examples, None, False)
  token_ids = tokenizer_for(teacher_checkpoint).tokenize(tf.constant(titles)).to_list()
  teacher = checkpoints.load_encoder(teacher_checkpoint, dropout=0.0, name='teacher')
  projection = VocabularyProjection(keras.ops.convert_to_numpy(teacher.token_embedding.embeddings),
                                    checkpoints.mlm_head_weights(teacher_checkpoint))
  defaults = configs.ModelConfig()
  print(cpu_line())
  print(f'{len(titles)} {counts["measured_on"]} of {args.experiments[0]}; mask rate {defaults.mask_rate}, '
        f'T = {defaults.temperature}, seed {args.seed}\n')
  print('| model | alpha | beta | KL(teacher ‖ student), T = 2 | top-1 | top-5 | perplexity |')
  print('|---|---:|---:|---:|---:|---:|---:|')
  rows = [('teacher (the start)', None, None, teacher)]
  for experiment in args.experiments:
    encoder, settings = trained_encoder(args.results_dir, experiment, teacher_checkpoint)
    rows.append((experiment, settings.alpha, settings.beta, encoder))
  for name, alpha, beta, encoder in rows:
    started = time.time()
    m = drift(encoder, teacher, projection, token_ids, teacher_checkpoint.special_ids, defaults.mask_rate,
              configs.BUDGETS['cpu']['model.max_seq_length'], defaults.temperature, args.seed)
    print(f"| {name} | {'' if alpha is None else alpha} | {'' if beta is None else beta} | {m['kl']:.4f} "
          f"| {100 * m['top1_accuracy']:.1f}% | {100 * m['top5_accuracy']:.1f}% | {m['perplexity']:.0f} |",
          flush=True)
    print(json.dumps(dict(m, model=name, seconds=round(time.time() - started, 1))), file=sys.stderr)


if __name__ == '__main__':
  main()
