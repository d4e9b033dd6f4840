"""The one entry point: run the AVEQA enrichment pipeline here, compile it for Vertex AI /
Kubeflow Pipelines, or score a trained model on a triples file.

  python pipeline_runner.py --local                      # embedded sample data
  python pipeline_runner.py --local --triples PATH --catalog 'PATH/*.parquet' --budget cpu
  python pipeline_runner.py --vertex --output pipeline.json --image IMAGE
  python pipeline_runner.py --eval-triples PATH [--model DIR]
  python pipeline_runner.py --local -- --runner=DataflowRunner --project=P --region=R \\
      --temp_location=gs://B/tmp            # anything after -- goes to Beam unchanged

Every setting is a flag generated from pipelines/configs.py.
"""
import argparse
import os
import sys
import time

os.environ.setdefault('KERAS_BACKEND', 'tensorflow')

from pipelines import configs, console  # noqa: E402  (after the backend is chosen)

def build_parser():
  parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  mode = parser.add_mutually_exclusive_group(required=True)
  mode.add_argument('--local', action='store_true', help='run now with LocalDagRunner (ML Metadata in SQLite)')
  mode.add_argument('--vertex', action='store_true', help='compile a Vertex AI pipeline spec (no network)')
  mode.add_argument('--kubeflow', action='store_true', help='compile the same KFP v2 spec for Kubeflow Pipelines')
  mode.add_argument('--eval-triples', metavar='PATH',
                    help='score a trained model (--model) on a triples file: exact-match P/R/F1 overall '
                         'and per attribute, threshold sweep, reliability')
  parser.add_argument('--enrich-only', action='store_true',
                      help='fill the catalog with a blessed model and train nothing: only question '
                           'generation, bulk inference and the writer (with --local, --vertex, --kubeflow)')
  parser.add_argument('--model', help='a pushed model dir for --eval-triples (default: the newest pushed '
                                      'model) and --enrich-only (default: the newest blessed model)')
  parser.add_argument('--report-dir', default=os.path.join('outputs', 'evaluation'),
                      help='where --eval-triples writes metrics.json, metrics.md, predictions.jsonl')
  parser.add_argument('--output', default='pipeline.json', help='spec file written by --vertex/--kubeflow')
  parser.add_argument('--verbose', action='store_true',
                      help="show TensorFlow's, TFX's and Beam's own logging")
  configs.add_flags(parser)
  return parser


def parse(argv):
  """(flags, config); anything after -- is Beam's."""
  ours, beam_args = (argv[:argv.index('--')], argv[argv.index('--') + 1:]) if '--' in argv else (argv, [])
  parser = build_parser()
  args = parser.parse_args(ours)
  try:
    return args, configs.from_flags(args, beam_args)
  except ValueError as error:   # a setting out of range: argparse's usage line and exit code 2
    parser.error(str(error))


def main(argv=None):
  args, config = parse(sys.argv[1:] if argv is None else list(argv))
  console.quiet_native_logs(args.verbose)
  from pipelines import runners, run_outputs
  if args.eval_triples:
    from evaluation.offline import evaluate_triples_file, markdown_table
    console.setup_logging(args.verbose)
    from serving import serving_choice
    # No gate measured the model for this run: auto scores the reference serving.
    runtime, precision = serving_choice.named_or_reference(config.inference.runtime, config.inference.precision)
    report = evaluate_triples_file(args.eval_triples, args.model or run_outputs.newest_pushed_model(
        config.serving_model_dir), args.report_dir, precision, config.gate.batch_size, runtime)
    print(markdown_table(report))
    best = max(report['threshold_sweep'], key=lambda row: row['f1'])
    print(f"Best value threshold on these triples: {best['threshold']:.2f} (F1 {100 * best['f1']:.1f})")
    print('Wrote', os.path.join(args.report_dir, 'metrics.json'))
    return 0
  if args.vertex or args.kubeflow:
    print('Wrote', runners.compile_kfp(config, args.output, args.enrich_only, args.model))
    return 0
  started = time.time()
  try:
    if args.enrich_only:
      outputs = runners.run_enrichment(config, args.model, args.verbose)
    else:
      outputs = runners.run_local(config, args.verbose)
  except (ValueError, LookupError, OSError) as error:   # bad input names itself; a traceback does not help
    if args.verbose:
      raise
    print(f'error: {error}\n(--verbose shows where it was raised)', file=sys.stderr)
    return 1
  return console.print_outcome(outputs, time.time() - started)


if __name__ == '__main__':
  sys.exit(main())
