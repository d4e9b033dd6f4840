"""The one entry point: run the AVEQA enrichment pipeline locally, or compile it for
Kubeflow Pipelines / Vertex AI.

  python pipeline_runner.py --local                      # embedded sample data
  python pipeline_runner.py --local --triples PATH --catalog 'PATH/*.parquet'
  python pipeline_runner.py --vertex --output pipeline.json
  python pipeline_runner.py --eval-triples PATH [--model DIR]   # score a trained model
  python pipeline_runner.py --local -- --runner=DataflowRunner --project=P --region=R \\
      --temp_location=gs://B/tmp            # anything after -- goes to Beam unchanged
"""
import argparse
import glob
import json
import os
import sys
import time

os.environ.setdefault('KERAS_BACKEND', 'tensorflow')

from pipelines.configs import PipelineConfig  # noqa: E402  (after the backend is chosen)

DEFAULT_IMAGE = 'gcr.io/YOUR_PROJECT/aveqa-catalog-enrichment:latest'
# The serving signatures the Trainer exports (components/trainer.PRECISIONS; a test
# keeps the two equal without importing TensorFlow to print --help).
SERVING_PRECISIONS = ('float32', 'bfloat16', 'int8')


def build_parser():
  defaults = PipelineConfig()
  parser = argparse.ArgumentParser(
      description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  mode = parser.add_mutually_exclusive_group(required=True)
  mode.add_argument('--local', action='store_true', help='run now with LocalDagRunner (MLMD in SQLite)')
  mode.add_argument('--vertex', action='store_true', help='compile a Vertex AI pipeline spec (no network)')
  mode.add_argument('--kubeflow', action='store_true',
                    help='compile the same KFP v2 spec for Kubeflow Pipelines (no network)')
  mode.add_argument('--eval-triples', metavar='PATH',
                    help='evaluate a trained model (--model) on a triples file: exact-match P/R/F1 '
                         'overall and per attribute, threshold sweep, reliability')
  parser.add_argument('--model', default=None,
                      help='SavedModel dir for --eval-triples (default: newest pushed model)')
  parser.add_argument('--report-dir', default=os.path.join('outputs', 'evaluation'),
                      help='where --eval-triples writes metrics.json and metrics.md')
  parser.add_argument('--output', default='pipeline.json', help='spec file written by --vertex/--kubeflow')
  parser.add_argument('--image', default=DEFAULT_IMAGE, help='container image for --vertex/--kubeflow')
  parser.add_argument('--pipeline-root', default=defaults.pipeline_root, help='artifacts (local or gs://)')
  parser.add_argument('--metadata-path', default=defaults.metadata_path, help='MLMD SQLite file (--local)')
  parser.add_argument('--serving-model-dir', default=defaults.serving_model_dir, help="Pusher's destination")
  data = parser.add_argument_group('data')
  data.add_argument('--triples', default=defaults.triples,
                    help='labelled triples, AE-pub format (default: the embedded sample)')
  data.add_argument('--catalog', default=defaults.catalog, help='catalog Parquet file pattern')
  data.add_argument('--attributes', default='',
                    help='comma-separated target attributes (default: schemas/target_attributes.txt)')
  data.add_argument('--keep-duplicate-lines', action='store_true',
                    help='keep repeated identical triple lines (default: de-duplicate)')
  data.add_argument('--use-description', action='store_true', help='append description to the title')
  data.add_argument('--repredict-known', action='store_true',
                    help='also predict attributes the catalog already has (auditing)')
  split = parser.add_argument_group('split')
  split.add_argument('--split', default=defaults.split_rule, choices=('random', 'grouped', 'zero_shot'))
  split.add_argument('--seed', type=int, default=defaults.seed)
  split.add_argument('--eval-percent', type=int, default=defaults.eval_percent)
  split.add_argument('--held-out', default=','.join(defaults.held_out_attributes),
                     help='attributes held out of training by --split zero_shot')
  train = parser.add_argument_group('model and training')
  train.add_argument('--checkpoint', default=None,
                     help='BERT checkpoint dir (config.json, vocab.txt, model.safetensors); '
                          'default: $AVEQA_CHECKPOINT or the packaged MiniLM-L6')
  train.add_argument('--train-steps', type=int, default=defaults.train_steps)
  train.add_argument('--batch-size', type=int, default=defaults.batch_size)
  train.add_argument('--learning-rate', type=float, default=defaults.learning_rate)
  train.add_argument('--warmup-fraction', type=float, default=defaults.warmup_fraction,
                     help='share of steps with linear warm-up, then linear decay (0 = constant)')
  train.add_argument('--max-seq-length', type=int, default=defaults.max_seq_length)
  train.add_argument('--alpha', type=float, default=defaults.alpha, help='DMLM loss weight (0 = off)')
  train.add_argument('--beta', type=float, default=defaults.beta, help='no-answer loss weight (0 = off)')
  train.add_argument('--dev-fraction', type=float, default=defaults.dev_fraction,
                     help='share of the train split held out to tune the value threshold '
                          '(0 = no tuning, use --value-threshold)')
  train.add_argument('--value-threshold', type=float, default=defaults.value_threshold,
                     help='p(value) = p(span)(1 - p(no answer)) below which the answer is '
                          '"no value" (untuned)')
  train.add_argument('--tpu', default=None, help="TPU name for TPUClusterResolver ('' = local TPU)")
  infer = parser.add_argument_group('bulk inference')
  infer.add_argument('--precision', default=defaults.inference_precision, choices=SERVING_PRECISIONS,
                     help='serving precision of bulk inference, and of what the gate and '
                          '--eval-triples score (bfloat16: about 1.3x on CPUs with AVX512-BF16; '
                          'int8: about 2x on x86 CPUs with AVX512-VNNI)')
  infer.add_argument('--inference-batch-size', type=int, default=defaults.inference_batch_size)
  infer.add_argument('--bucket-size', type=int, default=defaults.bucket_size,
                     help='questions sorted by length together before batching')
  gate = parser.add_argument_group('model gate')
  gate.add_argument('--min-f1', type=float, default=defaults.min_f1)
  gate.add_argument('--max-f1-drop', type=float, default=defaults.max_f1_drop)
  parser.add_argument('beam_args', nargs='*', help='after --: Beam pipeline options, passed through')
  return parser


def config_from_args(args) -> PipelineConfig:
  beam_args = args.beam_args or PipelineConfig().beam_pipeline_args
  if not any(a.startswith('--beam_plugin') for a in beam_args):
    beam_args = beam_args + ['--beam_plugins=tensorflow_text']   # Dataflow workers need it too
  return PipelineConfig(
      pipeline_root=args.pipeline_root, metadata_path=args.metadata_path,
      serving_model_dir=args.serving_model_dir, triples=args.triples, catalog=args.catalog,
      target_attributes=tuple(a.strip() for a in args.attributes.split(',') if a.strip()),
      dedupe_triples=not args.keep_duplicate_lines, use_description=args.use_description, repredict_known=args.repredict_known,
      split_rule=args.split, seed=args.seed, eval_percent=args.eval_percent,
      held_out_attributes=tuple(a.strip() for a in args.held_out.split(',') if a.strip()),
      checkpoint=args.checkpoint, max_seq_length=args.max_seq_length,
      train_steps=args.train_steps, batch_size=args.batch_size, learning_rate=args.learning_rate,
      warmup_fraction=args.warmup_fraction,
      alpha=args.alpha, beta=args.beta, value_threshold=args.value_threshold,
      dev_fraction=args.dev_fraction,
      tpu=args.tpu, inference_precision=args.precision,
      inference_batch_size=args.inference_batch_size, bucket_size=args.bucket_size, min_f1=args.min_f1, max_f1_drop=args.max_f1_drop, beam_pipeline_args=beam_args)


def compile_kfp(config: PipelineConfig, image: str, output: str):
  from tfx import v1 as tfx
  from pipelines.pipeline import create_pipeline
  runner = tfx.orchestration.experimental.KubeflowV2DagRunner(
      config=tfx.orchestration.experimental.KubeflowV2DagRunnerConfig(default_image=image),
      output_filename=output)
  runner.run(create_pipeline(config))
  return output


def run_local(config: PipelineConfig):
  import tensorflow_text  # noqa: F401  (BulkInferrer loads a graph with tensorflow-text ops)
  from tfx import v1 as tfx
  from pipelines.pipeline import create_pipeline
  os.makedirs(os.path.dirname(config.metadata_path), exist_ok=True)
  metadata = tfx.orchestration.metadata.sqlite_metadata_connection_config(config.metadata_path)
  tfx.orchestration.LocalDagRunner().run(create_pipeline(config, metadata))
  return latest_summary(config.pipeline_root)


def latest_summary(pipeline_root: str):
  """The enriched-catalog summary of the newest CatalogWriter run (cached runs included)."""
  paths = glob.glob(os.path.join(pipeline_root, 'CatalogWriter', 'enriched_catalog', '*', 'summary.json'))
  if not paths:
    return None
  with open(max(paths, key=os.path.getmtime)) as f:
    return json.load(f)


def latest_anomalies(pipeline_root: str):
  """{split: [anomaly descriptions]} from the newest ExampleValidator output."""
  from tensorflow_metadata.proto.v0 import anomalies_pb2
  runs = glob.glob(os.path.join(pipeline_root, 'ExampleValidator', 'anomalies', '*'))
  if not runs:
    return {}
  found = {}
  for path in glob.glob(os.path.join(max(runs, key=os.path.getmtime), 'Split-*', 'SchemaDiff.pb')):
    anomalies = anomalies_pb2.Anomalies()
    with open(path, 'rb') as f:
      anomalies.ParseFromString(f.read())
    split = os.path.basename(os.path.dirname(path))[len('Split-'):]
    found[split] = [f'{feature}: {info.description}' for feature, info in anomalies.anomaly_info.items()]
  return found


def evaluate_triples(path, model_dir, report_dir, precision='float32'):
  """Scores a model on a triples file; malformed lines are listed with their numbers.
  Writes metrics.json, metrics.md and predictions.jsonl (one answer per valid triple, in
  file order: what error analysis and benchmarks/significance.py read)."""
  from components import triples
  from components.offline_evaluation import evaluate_model_with_predictions, markdown_table
  titles, attributes, gold, malformed = [], [], [], []
  for number, parsed, text in triples.read_triples(path):
    if isinstance(parsed, str):
      malformed.append({'line': number, 'reason': parsed, 'text': text[:200]})
    else:
      titles.append(parsed.title)
      attributes.append(parsed.attribute)
      gold.append(parsed.value)
  for bad in malformed[:20]:
    print(f"{path}:{bad['line']}: {bad['reason']}")
  if malformed:
    print(f'{len(malformed)} malformed line(s) skipped; the first 20 are listed above')
  if not titles:
    raise SystemExit(f'{path}: no valid triples')
  report, predictions = evaluate_model_with_predictions(model_dir, titles, attributes, gold,
                                                        precision=precision)
  report.update({'model': model_dir, 'triples': path, 'precision': precision, 'malformed_lines': malformed})
  os.makedirs(report_dir, exist_ok=True)
  with open(os.path.join(report_dir, 'predictions.jsonl'), 'w', encoding='utf-8') as f:
    for title, attribute, value, answer, confidence in zip(titles, attributes, gold, predictions['value'],
                                                           predictions['confidence']):
      f.write(json.dumps({'title': title, 'attribute': attribute, 'gold': value, 'value': answer,
                          'confidence': float(confidence)}, ensure_ascii=False) + '\n')
  with open(os.path.join(report_dir, 'metrics.json'), 'w') as f:
    json.dump(report, f, indent=2)
  table = markdown_table(report)
  with open(os.path.join(report_dir, 'metrics.md'), 'w') as f:
    f.write(f'# Exact match of {model_dir}\n\non `{path}` ({len(titles)} triples)\n\n{table}\n')
  print(table)
  best = max(report['threshold_sweep'], key=lambda r: r['f1'])
  print(f"Best value threshold on these triples: {best['threshold']:.2f} (F1 {100 * best['f1']:.1f})")
  print('Wrote', os.path.join(report_dir, 'metrics.json'))
  return report


def newest_pushed_model(serving_model_dir):
  pushed = sorted(glob.glob(os.path.join(serving_model_dir, '*', 'saved_model.pb')))
  if not pushed:
    raise SystemExit(f'no pushed model in {serving_model_dir}: pass --model DIR')
  return os.path.dirname(pushed[-1])


def main(argv=None):
  argv = sys.argv[1:] if argv is None else argv
  args = build_parser().parse_args(argv)
  config = config_from_args(args)
  if args.eval_triples:
    evaluate_triples(args.eval_triples, args.model or newest_pushed_model(args.serving_model_dir),
                     args.report_dir, args.precision)
    return 0
  if args.vertex or args.kubeflow:
    print('Wrote', compile_kfp(config, args.image, args.output))
    return 0
  started = time.time()
  summary = run_local(config)
  print(f'\nPipeline finished in {time.time() - started:.0f} s.')
  for split, problems in latest_anomalies(config.pipeline_root).items():
    print(f'Data anomalies in the {split} split:', '; '.join(problems) if problems else 'none')
  if summary is None:
    print('No enriched catalog was written.')
    return 1
  if not summary.get('filled'):
    print('Catalog NOT filled:', summary.get('reason'))
    return 2
  print(f"Rows in {summary['rows_in']} = rows out {summary['rows_out']} + quarantined "
        f"{summary['quarantined']}")
  print('Filled catalog:', summary['catalog_files'])
  print('Quarantine:    ', summary['quarantine_files'])
  return 0


if __name__ == '__main__':
  sys.exit(main())
