"""Parquet and JSON files read through tf.io.gfile, local or gs://: the one file layer of the
pipeline (TFX's artifact store uses it too). pyarrow's own gs:// layer finds its endpoint and
credentials by itself: pointed at a local Cloud Storage emulator,
pyarrow.fs.FileSystem.from_uri('gs://...') hung, so it is not used (docs/deployment.md)."""
import io
import json
import os

import pyarrow.parquet as pq
import tensorflow as tf


class _ReadableFile(io.RawIOBase):
  """A GFile as the seekable Python file pyarrow reads (GFile lacks `closed`), so only the
  footer and the wanted columns are fetched."""

  def __init__(self, path: str):
    super().__init__()
    self._file = tf.io.gfile.GFile(path, 'rb')

  def readable(self):
    return True

  def seekable(self):
    return True

  def read(self, size=-1):
    return self._file.read(size)

  def seek(self, offset, whence=io.SEEK_SET):
    self._file.seek(offset, whence)
    return self._file.tell()

  def tell(self):
    return self._file.tell()

  def close(self):
    self._file.close()
    super().close()


def read_schema(path: str):
  with _ReadableFile(path) as f:
    return pq.read_schema(f)


def read_columns(path: str, wanted):
  """The file's columns among `wanted` (the others are skipped, not an error)."""
  with _ReadableFile(path) as f:
    parquet = pq.ParquetFile(f)
    names = parquet.schema_arrow.names
    return parquet.read(columns=[c for c in wanted if c in names])


def read_json(folder: str, name: str):
  """The JSON file `name` in a folder (an artifact's, local or gs://), or None when absent."""
  path = os.path.join(folder, name)
  if not tf.io.gfile.exists(path):
    return None
  with tf.io.gfile.GFile(path) as f:
    return json.load(f)
