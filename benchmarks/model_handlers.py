"""The catalog step's Beam inference with tfx-bsl's model handler vs ours
(serving/batch_inference.ServingHandler, TensorFlow runtime): same questions, alternating,
model load included. tfx-bsl's handler is given batches sorted by length inside chunks of
--bucket-size, as ours sorts each lot of --bucket-size questions into batches itself.

  .venv/bin/python -m benchmarks.model_handlers --experiment aveqa-random --questions 100000
"""
import argparse
import os
import statistics
import tempfile
import time

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

import apache_beam as beam  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from apache_beam.ml.inference.base import RunInference  # noqa: E402
from apache_beam.options.pipeline_options import PipelineOptions  # noqa: E402

from benchmarks.bulk_inference import ATTRIBUTES, titles_pool  # noqa: E402
from serving import batch_inference as catalog_inferrer  # noqa: E402
from catalog import questions as catalog_questions  # noqa: E402
from catalog.categories import CategoryRules  # noqa: E402
from serving.contract import signature_names  # noqa: E402


def tfx_bsl_handler(model_dir, precision, batch_size, bucket_size):
  del bucket_size   # its batches come sorted (run)
  from tfx_bsl.public.beam.run_inference import CreateModelHandler
  from tfx_bsl.public.proto import model_spec_pb2
  return CreateModelHandler(model_spec_pb2.InferenceSpecType(
      saved_model_spec=model_spec_pb2.SavedModelSpec(
          model_path=model_dir, signature_name=[signature_names(precision)[0]], tag=['serve']),
      batch_parameters=model_spec_pb2.BatchParameters(min_batch_size=batch_size, max_batch_size=batch_size)))


def our_handler(model_dir, precision, batch_size, bucket_size):
  return catalog_inferrer.ServingHandler(model_dir, precision, 'tensorflow', batch_size, bucket_size)


HANDLERS = {"tfx-bsl's handler (TF1 session, a PredictionLog per question)": tfx_bsl_handler,
            'ServingHandler (TF2, a PredictionLog per lot)': our_handler}


def write_questions(path, questions):
  titles, _ = titles_pool()
  rng = np.random.default_rng(0)
  with tf.io.TFRecordWriter(path, 'GZIP') as writer:
    for i in range(questions // len(ATTRIBUTES)):
      row = {'product_id': str(i), 'title': titles[rng.integers(len(titles))]}
      for question in catalog_questions.questions_for(row, CategoryRules(tuple(ATTRIBUTES)), False, True):
        writer.write(question)


def run(handler, questions_file, output, bucket_size):
  from tensorflow_serving.apis import prediction_log_pb2
  started = time.perf_counter()
  with beam.Pipeline(options=PipelineOptions(['--direct_running_mode=in_memory'])) as pipeline:
    questions = pipeline | beam.io.ReadFromTFRecord(questions_file)
    if not isinstance(handler, catalog_inferrer.ServingHandler):
      questions = (questions
                   | beam.BatchElements(min_batch_size=bucket_size, max_batch_size=bucket_size)
                   | beam.FlatMap(lambda chunk: sorted(chunk, key=len)))
    _ = (questions
         | RunInference(handler)
         | beam.io.WriteToTFRecord(output, file_name_suffix='.gz',
                                   coder=beam.coders.ProtoCoder(prediction_log_pb2.PredictionLog)))
  return time.perf_counter() - started


def main():
  from serving.contract import PRECISIONS
  from pipelines.run_outputs import newest_pushed_model
  parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument('--experiment', default='aveqa-random')
  parser.add_argument('--results-dir', default=os.path.join(REPO, 'outputs', 'experiments'))
  parser.add_argument('--model', default=None, help="a pushed serving model dir (default: the experiment's)")
  parser.add_argument('--precision', default='int8', choices=PRECISIONS)
  parser.add_argument('--questions', type=int, default=100000)
  parser.add_argument('--batch-size', type=int, default=128)
  parser.add_argument('--bucket-size', type=int, default=8192)
  parser.add_argument('--repeats', type=int, default=2)
  args = parser.parse_args()
  model_dir = args.model or newest_pushed_model(
      os.path.join(args.results_dir, args.experiment, 'serving_model'))
  work = tempfile.mkdtemp(prefix='model-handlers-')
  questions_file = os.path.join(work, 'questions.tfrecord.gz')
  write_questions(questions_file, args.questions)
  rates = {name: [] for name in HANDLERS}
  for repeat in range(args.repeats):
    for i, (name, make) in enumerate(HANDLERS.items()):
      seconds = run(make(model_dir, args.precision, args.batch_size, args.bucket_size), questions_file,
                    os.path.join(work, f'{i}-{repeat}', 'logs'), args.bucket_size)
      rates[name].append(args.questions / seconds)
      print(f'{name} #{repeat}: {seconds:.1f} s, {rates[name][-1]:.1f} questions/s', flush=True)
  print(f'\n## Beam inference step, {args.questions} questions, {args.precision}, batch {args.batch_size}, '
        f'{args.repeats} repeat(s): median [min-max] questions/s\n\n| model handler | questions/s |\n|---|---|')
  for name, values in rates.items():
    print(f'| {name} | {statistics.median(values):.1f} [{min(values):.1f}-{max(values):.1f}] |')


if __name__ == '__main__':
  main()
