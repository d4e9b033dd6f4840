"""A local GCS for tests: gcp-storage-emulator plus a TLS-terminating CONNECT proxy.

google-cloud-storage and Beam reach an emulator through STORAGE_EMULATOR_HOST (pyarrow
through GcsFileSystem(anonymous=True, scheme='http', endpoint_override=...)), but
TensorFlow's own gs:// filesystem (tf.io.gfile, which TFX uses for its artifact store)
has no endpoint override: it always calls https://www.googleapis.com (JSON API,
uploads) and https://storage.googleapis.com (ranged reads). Its HTTP client is libcurl,
which honours HTTPS_PROXY and CURL_CA_BUNDLE, so a loopback proxy accepts
`CONNECT www.googleapis.com:443`, terminates TLS with a certificate from a throwaway CA
(CURL_CA_BUNDLE trusts it) and hands each decrypted HTTP/1.1 request to the emulator's
plain-HTTP port. TensorFlow's auth is skipped with GOOGLE_AUTH_TOKEN_FOR_TESTING.
No root, no /etc/hosts, no network.

Emulator and proxy run in one child process (this file run as a script), not in a
thread of the test process: some TensorFlow ops (tf.io.TFRecordWriter, for one) hold
the GIL while libcurl waits on the proxy, which would deadlock an in-process proxy.

  with gcs_emulator(buckets=['bucket']) as gcs:
    tf.io.gfile.makedirs('gs://bucket/root')
    subprocess.run([...], env={**os.environ, **gcs.env})  # already in os.environ here
"""
import argparse
import contextlib
import datetime
import json
import logging
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

# A stuck emulator or client fails a test in bounded time: every socket of the proxy, and
# the wait for the child's ports, give up after this many seconds.
TIMEOUT_SECONDS = 60

# Hosts TensorFlow's GCS filesystem calls; CONNECT to anything else is refused.
GCS_HOSTS = ('www.googleapis.com', 'storage.googleapis.com')
_MAX_HEAD = 64 * 1024
_CHUNK = 1 << 20
_BOUNDARY = 'gcs_emulator_boundary'

# TensorFlow's GCS tuning: fail fast (default is 10 retries, about 3 minutes, on any
# error) and no stat cache (default 5 s; a file rewritten by another client, e.g. Beam,
# would be read with its old size). TensorFlow reads these once, when it is imported,
# so gcs_emulator() setting them only helps subprocesses; set them in os.environ
# before `import tensorflow` (e.g. at the top of conftest.py) for the test process.
TF_GCS_ENV = {
    'GCS_RETRY_CONFIG_MAX_RETRIES': '2',
    'GCS_RETRY_CONFIG_INIT_DELAY_TIME_US': '100000',
    'GCS_STAT_CACHE_MAX_AGE': '0',
    'GCS_MATCHING_PATHS_CACHE_MAX_AGE': '0',
    'GCS_READ_CACHE_MAX_SIZE_MB': '0',
}
_EMPTY_MULTIPART = ('--{b}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n{{}}\r\n'
                    '--{b}\r\nContent-Type: application/octet-stream\r\n\r\n\r\n'
                    '--{b}--\r\n').format(b=_BOUNDARY).encode()


def _first_line(proc, seconds: float) -> bytes:
  """The child's first line of output; a RuntimeError when it exits first or says nothing
  for `seconds` (the child is killed then)."""
  import selectors
  with selectors.DefaultSelector() as selector:
    selector.register(proc.stdout, selectors.EVENT_READ)
    if not selector.select(timeout=seconds):
      proc.kill()
      raise RuntimeError(f'gcs emulator process gave no port line in {seconds} s')
  line = proc.stdout.readline()
  if not line:
    raise RuntimeError('gcs emulator process exited with %s' % proc.wait())
  return line


def _free_port() -> int:
  with socket.socket() as s:
    s.bind(('127.0.0.1', 0))
    return s.getsockname()[1]


def _write_certificates(directory: str) -> tuple[str, str, str]:
  """A throwaway CA and a leaf certificate for *.googleapis.com signed by it.

  Returns:
    (ca_pem, leaf_pem, leaf_key_pem) paths.
  """
  from cryptography import x509
  from cryptography.hazmat.primitives import hashes, serialization
  from cryptography.hazmat.primitives.asymmetric import ec
  from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
  now = datetime.datetime.now(datetime.timezone.utc)
  start, end = now - datetime.timedelta(days=1), now + datetime.timedelta(days=30)
  ca_key = ec.generate_private_key(ec.SECP256R1())
  ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, 'gcs emulator test CA')])
  ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
        .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(start).not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False,
                                     encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
                       critical=False)
        .sign(ca_key, hashes.SHA256()))
  key = ec.generate_private_key(ec.SECP256R1())
  leaf = (x509.CertificateBuilder()
          .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, GCS_HOSTS[0])]))
          .issuer_name(ca_name).public_key(key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(start).not_valid_after(end)
          .add_extension(x509.SubjectAlternativeName(
              [x509.DNSName(h) for h in (*GCS_HOSTS, '*.googleapis.com')]), critical=False)
          .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
          .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
          .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                         critical=False)
          .sign(ca_key, hashes.SHA256()))
  paths = tuple(os.path.join(directory, n) for n in ('ca.pem', 'leaf.pem', 'leaf.key'))
  with open(paths[0], 'wb') as f:
    f.write(ca.public_bytes(serialization.Encoding.PEM))
  with open(paths[1], 'wb') as f:
    f.write(leaf.public_bytes(serialization.Encoding.PEM))
  with open(paths[2], 'wb') as f:
    f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()))
  return paths


def _write_ca_bundle(path: str, ca_pem: str) -> None:
  """The test CA plus the system roots, so other https users of CURL_CA_BUNDLE still work."""
  system = os.environ.get('CURL_CA_BUNDLE') or ssl.get_default_verify_paths().cafile
  with open(path, 'wb') as out:
    with open(ca_pem, 'rb') as f:
      out.write(f.read())
    if system and os.path.isfile(system):
      with open(system, 'rb') as f:
        out.write(b'\n' + f.read())


class _Proxy:
  """CONNECT proxy for GCS_HOSTS: terminates TLS, forwards each request to the emulator.

  One request per connection (the emulator answers HTTP/1.0 and closes; TensorFlow
  opens a new connection per request anyway). Rewriting, headers only:
  - Host becomes this proxy's address, so the Location of a resumable upload is
    http://127.0.0.1:PROXY/... and the upload PUT (plain http, no CONNECT; no_proxy
    covers 127.0.0.1) comes back here too.
  - TensorFlow's upload PUT carries both `Transfer-Encoding: chunked` and
    `Content-Length`; the emulator trusts Content-Length and would store the chunk
    framing. The body is de-chunked here and sent with its real Content-Length.
  - `Expect: 100-continue` is answered here (the emulator never sends 100 Continue,
    so curl would stall a second per upload).
  - An empty `uploadType=media` upload (TensorFlow's directory markers, `dir/`) crashes
    the emulator (len(None)); it is sent as the equivalent empty multipart upload.
  - GET /storage/v1/b/BUCKET/storageLayout (TensorFlow asks before renaming a
    directory; the emulator has no such route) is answered here: a flat bucket, no
    hierarchical namespace.
  """

  def __init__(self, upstream_port: int, certfile: str, keyfile: str):
    self._upstream = ('127.0.0.1', upstream_port)
    self._ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    self._ctx.load_cert_chain(certfile, keyfile)
    self._ctx.set_alpn_protocols(['http/1.1'])
    self._listener = socket.create_server(('127.0.0.1', 0))
    self._listener.settimeout(0.2)
    self.port = self._listener.getsockname()[1]
    self._stopped = threading.Event()
    self._thread = threading.Thread(target=self._serve, name='gcs-proxy', daemon=True)
    self._thread.start()

  def close(self) -> None:
    self._stopped.set()
    self._thread.join(timeout=5)
    self._listener.close()

  def _serve(self):
    while not self._stopped.is_set():
      try:
        conn, _ = self._listener.accept()
      except (socket.timeout, OSError):
        continue
      conn.settimeout(TIMEOUT_SECONDS)
      threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

  def _handle(self, conn):
    try:
      with conn:
        reader = conn.makefile('rb', buffering=0)
        head = _read_head(reader)
        method, target, *_ = head[0].split(' ')
        if method != 'CONNECT':   # plain http: a resumable upload's Location points here
          self._forward_one(conn, conn.makefile('rb'), head)
          return
        host = target.rsplit(':', 1)[0].lower()
        if host not in GCS_HOSTS:
          conn.sendall(b'HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n')
          return
        conn.sendall(b'HTTP/1.1 200 Connection established\r\n\r\n')
        with self._ctx.wrap_socket(conn, server_side=True) as tls:
          reader = tls.makefile('rb')
          self._forward_one(tls, reader, _read_head(reader))
    except (OSError, ValueError, IndexError):
      pass   # client went away or sent garbage; it will see the connection drop

  def _forward_one(self, client, reader, head):
    if not head:
      return
    headers, expect, length, chunked = [], False, 0, False
    for line in head[1:]:
      name, _, value = line.partition(':')
      key, value = name.strip().lower(), value.strip()
      if key == 'expect':
        expect = value.lower() == '100-continue'
      elif key == 'content-length':
        length = int(value)
      elif key == 'transfer-encoding':
        chunked = 'chunked' in value.lower()
      elif key not in ('host', 'connection', 'proxy-connection', 'keep-alive'):
        headers.append(line)
    if expect:
      client.sendall(b'HTTP/1.1 100 Continue\r\n\r\n')
    body = _read_chunked(reader) if chunked else _read_exactly(reader, length)
    answer = _local_answer(head[0])
    if answer is not None:
      data = json.dumps(answer).encode()
      client.sendall(b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n'
                     b'Content-Length: %d\r\nConnection: close\r\n\r\n%s' % (len(data), data))
      return
    request_line = head[0]
    if not body and request_line.startswith('POST /upload/') and 'uploadType=media' in request_line:
      request_line = request_line.replace('uploadType=media', 'uploadType=multipart', 1)
      headers = [h for h in headers if not h.lower().startswith('content-type:')]
      headers.append('Content-Type: multipart/related; boundary=%s' % _BOUNDARY)
      body = _EMPTY_MULTIPART
    out = [request_line, 'Host: 127.0.0.1:%d' % self.port, *headers,
           'Content-Length: %d' % len(body), 'Connection: close', '', '']
    with socket.create_connection(self._upstream, timeout=TIMEOUT_SECONDS) as up:
      up.sendall('\r\n'.join(out).encode('latin-1') + body)
      while data := up.recv(_CHUNK):
        client.sendall(data)


def _local_answer(request_line: str) -> dict | None:
  method, target = request_line.split(' ')[:2]
  path = target.split('?')[0]
  if method == 'GET' and path.startswith('/storage/v1/b/') and path.endswith('/storageLayout'):
    bucket = path[len('/storage/v1/b/'):-len('/storageLayout')]
    return {'kind': 'storage#storageLayout', 'bucket': bucket, 'location': 'US',
            'locationType': 'multi-region', 'hierarchicalNamespace': {'enabled': False}}
  return None


def _read_head(reader) -> list[str]:
  """Request line and header lines, without the blank line; [] at EOF."""
  lines, size = [], 0
  while True:
    line = reader.readline(_MAX_HEAD)
    if not line:
      return []
    size += len(line)
    if size > _MAX_HEAD:
      raise ValueError('header too large')
    line = line.decode('latin-1').rstrip('\r\n')
    if not line:
      return lines
    lines.append(line)


def _read_exactly(reader, n: int) -> bytes:
  parts = []
  while n:
    data = reader.read(min(n, _CHUNK))
    if not data:
      raise ConnectionError('request body cut short')
    parts.append(data)
    n -= len(data)
  return b''.join(parts)


def _read_chunked(reader) -> bytes:
  parts = []
  while True:
    size = int(reader.readline(_MAX_HEAD).split(b';')[0].strip() or b'0', 16)
    if size == 0:
      while reader.readline(_MAX_HEAD) not in (b'\r\n', b'\n', b''):
        pass   # trailers
      return b''.join(parts)
    parts.append(_read_exactly(reader, size))
    _read_exactly(reader, 2)   # CRLF after the chunk


def _run_child(args) -> None:
  """Child process: emulator + proxy; prints their ports, runs until stdin closes."""
  from gcp_storage_emulator.server import create_server
  if args.log_file:
    logging.basicConfig(filename=args.log_file, level=logging.INFO)
  else:
    logging.basicConfig(level=logging.CRITICAL)
  port = _free_port()
  server = create_server('127.0.0.1', port, in_memory=True)
  server.start()
  proxy = _Proxy(port, args.cert, args.key)
  print(json.dumps({'emulator_port': port, 'proxy_port': proxy.port}), flush=True)
  sys.stdin.read()   # EOF: the parent is done (or gone)
  proxy.close()
  server.stop()


def _wait_ready(endpoint: str, timeout: float = 30.0) -> None:
  opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
  deadline = time.monotonic() + timeout
  while True:
    try:
      with opener.open(endpoint + '/', timeout=2) as r:
        if r.read() == b'OK':
          return
    except (urllib.error.URLError, OSError):
      if time.monotonic() > deadline:
        raise
      time.sleep(0.1)


def storage_client():
  """A google-cloud-storage client for the emulator in STORAGE_EMULATOR_HOST."""
  from google.auth.credentials import AnonymousCredentials
  from google.cloud import storage
  return storage.Client(project='test', credentials=AnonymousCredentials())


def create_bucket(name: str):
  """Creates a bucket in the running emulator (inside gcs_emulator()); returns it."""
  return storage_client().create_bucket(name)


class GcsEmulator:
  """What gcs_emulator() yields: the env it set, the emulator endpoint, helpers."""

  def __init__(self, endpoint: str, env: dict[str, str], proc: subprocess.Popen):
    self.endpoint = endpoint
    self.env = env
    self.process = proc

  def client(self):
    return storage_client()

  def create_bucket(self, name: str):
    return create_bucket(name)


@contextlib.contextmanager
def gcs_emulator(buckets=(), log_file: str | None = None):
  """Starts gcp-storage-emulator (in memory) and the proxy; sets and yields the env.

  TensorFlow reads the GCS_* tuning variables (TF_GCS_ENV) once, at import; in the
  test process they only apply if set before `import tensorflow`. The proxy, CA and
  token variables are read per request, so they work whenever TF was imported.

  Args:
    buckets: bucket names to create up front.
    log_file: where the emulator's request log goes (default: discarded).

  Yields:
    GcsEmulator; .env holds the variables set in os.environ (pass them to
    subprocesses that are started with an explicit env). Everything is restored and
    stopped on exit.
  """
  tmp = tempfile.mkdtemp(prefix='gcs_emulator_')
  proc, saved = None, {}
  try:
    ca, leaf, key = _write_certificates(tmp)
    bundle = os.path.join(tmp, 'ca-bundle.pem')
    _write_ca_bundle(bundle, ca)
    cmd = [sys.executable, os.path.abspath(__file__), '--cert', leaf, '--key', key]
    if log_file:
      cmd += ['--log-file', log_file]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=tmp)
    ready = _first_line(proc, TIMEOUT_SECONDS)
    ports = json.loads(ready)
    endpoint = 'http://127.0.0.1:%d' % ports['emulator_port']
    _wait_ready(endpoint)
    proxy_url = 'http://127.0.0.1:%d' % ports['proxy_port']
    no_proxy = '127.0.0.1,localhost'
    env = {
        'STORAGE_EMULATOR_HOST': endpoint,   # google-cloud-storage, Beam
        'HTTPS_PROXY': proxy_url, 'https_proxy': proxy_url,   # TensorFlow (libcurl)
        'NO_PROXY': no_proxy, 'no_proxy': no_proxy,
        'CURL_CA_BUNDLE': bundle,
        'GOOGLE_AUTH_TOKEN_FOR_TESTING': 'dummy',   # TensorFlow: no OAuth round trip
        'NO_GCE_CHECK': 'true',   # no metadata-server probe (google-auth: if set before import)
        'GOOGLE_CLOUD_PROJECT': 'test',
        **TF_GCS_ENV,
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    for name in buckets:
      create_bucket(name)
    yield GcsEmulator(endpoint, env, proc)
  finally:
    for k, v in saved.items():
      if v is None:
        os.environ.pop(k, None)
      else:
        os.environ[k] = v
    if proc:
      proc.stdin.close()
      try:
        proc.wait(timeout=10)
      except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
      proc.stdout.close()
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == '__main__':
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--cert', required=True)
  parser.add_argument('--key', required=True)
  parser.add_argument('--log-file')
  _run_child(parser.parse_args())
