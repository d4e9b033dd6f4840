"""Artifact types of the catalog side of the pipeline, and reading the JSON files that
artifact folders hold beside their data."""
import json
import os

from tfx.types.artifact import Artifact


class CatalogRows(Artifact):
  """A validated catalog: accepted/ and quarantined/ Parquet files and summary.json."""
  TYPE_NAME = 'aveqa.CatalogRows'   # <namespace>.<Name>: the form KFP v2 specs require


class EnrichedCatalog(Artifact):
  """The filled catalog: Parquet files (schemas/catalog_output.md) and summary.json."""
  TYPE_NAME = 'aveqa.EnrichedCatalog'


def read_json(folder: str, name: str):
  """The JSON file `name` in an artifact folder (local or gs://), or None when absent."""
  import tensorflow as tf
  path = os.path.join(folder, name)
  if not tf.io.gfile.exists(path):
    return None
  with tf.io.gfile.GFile(path) as f:
    return json.load(f)
