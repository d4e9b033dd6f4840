"""What a finished local run produced, found through ML Metadata rather than by listing
folders: the executions of the newest pipeline run (cached ones included, which point at
the artifacts they reused) name the exact artifacts, local or gs://, read with tf.io.gfile."""
import dataclasses
import os
from typing import Dict, List, Optional

import tensorflow as tf
from ml_metadata.metadata_store import metadata_store
from ml_metadata.proto import metadata_store_pb2

from catalog.writer import REPORT_FILE, SUMMARY_FILE, read_summary


@dataclasses.dataclass
class RunOutputs:
  summary: Optional[Dict]                 # the CatalogWriter's summary.json; None if none was written
  anomalies: Dict[str, List[str]]         # ExampleValidator's findings per split
  report: Optional[str]                   # the run report's path


def _newest_run_outputs(store, pipeline_name: str) -> Dict[str, Dict[str, List[str]]]:
  """{component id: {output key: [artifact uri]}} of the newest run of the pipeline."""
  pipeline = store.get_context_by_type_and_name('pipeline', pipeline_name)
  if pipeline is None:
    return {}
  mine = {e.id for e in store.get_executions_by_context(pipeline.id)}
  runs = sorted(store.get_contexts_by_type('pipeline_run'),
                key=lambda c: (c.create_time_since_epoch, c.id), reverse=True)
  # The newest run context whose executions belong to this pipeline.
  newest = next((r for r in runs if mine & {e.id for e in store.get_executions_by_context(r.id)}), None)
  if newest is None:
    return {}
  executions = store.get_executions_by_context(newest.id)
  node_type = store.get_context_type('node').id
  node_of = {}
  for execution in executions:
    for context in store.get_contexts_by_execution(execution.id):
      if context.type_id == node_type:
        node_of[execution.id] = context.name.split('.', 1)[-1]   # '<pipeline>.<component id>'
  events = store.get_events_by_execution_ids([e.id for e in executions])
  outputs = [e for e in events if e.type in (metadata_store_pb2.Event.OUTPUT,
                                             metadata_store_pb2.Event.DECLARED_OUTPUT)]
  uris = {a.id: a.uri for a in store.get_artifacts_by_id([e.artifact_id for e in outputs])}
  found: Dict[str, Dict[str, List[str]]] = {}
  for event in outputs:
    key = event.path.steps[0].key if event.path.steps else ''
    found.setdefault(node_of.get(event.execution_id, ''), {}).setdefault(key, []).append(
        uris[event.artifact_id])
  return found


def read_anomalies(anomalies_uri: str) -> Dict[str, List[str]]:
  """{split: [anomaly descriptions]} from an ExampleValidator output."""
  from tensorflow_metadata.proto.v0 import anomalies_pb2
  found = {}
  for path in sorted(tf.io.gfile.glob(os.path.join(anomalies_uri, 'Split-*', 'SchemaDiff.pb'))):
    anomalies = anomalies_pb2.Anomalies()
    with tf.io.gfile.GFile(path, 'rb') as f:
      anomalies.ParseFromString(f.read())
    split = os.path.basename(os.path.dirname(path))[len('Split-'):]
    found[split] = [f'{feature}: {info.description}' for feature, info in anomalies.anomaly_info.items()]
  return found


def _store(metadata_path: str):
  config = metadata_store_pb2.ConnectionConfig()
  config.sqlite.filename_uri = metadata_path
  config.sqlite.connection_mode = metadata_store_pb2.SqliteMetadataSourceConfig.READONLY
  return metadata_store.MetadataStore(config)


def newest_run(metadata_path: str, pipeline_name: str) -> RunOutputs:
  outputs = _newest_run_outputs(_store(metadata_path), pipeline_name)
  summary = report = None
  for uri in outputs.get('CatalogWriter', {}).get('enriched_catalog', []):
    if tf.io.gfile.exists(os.path.join(uri, SUMMARY_FILE)):
      summary = read_summary(uri)
    if tf.io.gfile.exists(os.path.join(uri, REPORT_FILE)):
      report = os.path.join(uri, REPORT_FILE)
  anomalies = {}
  for uri in outputs.get('ExampleValidator', {}).get('anomalies', []):
    anomalies.update(read_anomalies(uri))
  return RunOutputs(summary, anomalies, report)


def has_blessed_model(metadata_path: str, pipeline_name: str) -> bool:
  """Whether the gate of the named pipeline ever blessed a model (ML Metadata)."""
  if not os.path.exists(metadata_path):
    return False
  store = _store(metadata_path)
  pipeline = store.get_context_by_type_and_name('pipeline', pipeline_name)
  if pipeline is None:
    return False
  return any(a.custom_properties['blessed'].int_value == 1
             for a in store.get_artifacts_by_context(pipeline.id)
             if 'blessed' in a.custom_properties)


def newest_pushed_model(serving_model_dir: str) -> str:
  """The newest model the Pusher wrote (its folders are named by push time)."""
  if tf.io.gfile.isdir(serving_model_dir):
    versions = sorted(name.rstrip('/') for name in tf.io.gfile.listdir(serving_model_dir)
                      if tf.io.gfile.exists(os.path.join(serving_model_dir, name, 'saved_model.pb')))
    if versions:
      return os.path.join(serving_model_dir, versions[-1])
  raise FileNotFoundError(f'no pushed model in {serving_model_dir}: pass --model DIR')
