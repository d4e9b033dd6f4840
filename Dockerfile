# One image for the Dataflow workers (--sdk_container_image) and the Vertex AI /
# Kubeflow components (--image). Build and push: docs/deployment.md, "Container image".
# Docker is not run in CI; tests/test_container_image.py checks this file against
# pyproject.toml, requirements.txt/.lock and setup/install.sh.

# Python 3.11, as pyproject.toml requires, on Debian 12 (glibc 2.36).
FROM python:3.11-slim-bookworm

# Dataflow starts workers with Beam's SDK harness launcher: take it from Beam's own
# image of the pinned Beam version and Python version.
COPY --from=apache/beam_python3.11_sdk:2.77.0 /opt/apache/beam /opt/apache/beam

# Only what install.sh and the pipeline need: the packages, the set-up scripts, the
# runner and the embedded sample (the default --triples/--catalog).
WORKDIR /opt/aveqa
COPY pyproject.toml requirements.txt requirements.lock pipeline_runner.py ./
COPY setup/ setup/
COPY catalog/ catalog/
COPY components/ components/
COPY evaluation/ evaluation/
COPY model/ model/
COPY pipelines/ pipelines/
COPY serving/ serving/
COPY training/ training/
COPY schemas/ schemas/
COPY data/ data/

# The same script that builds a developer machine and CI, without the test tools
# (TEST_TOOLS=0): requirements.txt constrained by requirements.lock, the checkpoint package with --no-deps, this package (editable, so
# every package of the project imports from /opt/aveqa), then an import
# check of ml-metadata, TFDV, TFX and tensorflow-text. glibc 2.36 < 2.39, so it also
# applies setup/glibc_compat/, which needs g++ and readelf only while it runs; they
# leave in the same layer, with the pip and apt caches.
RUN apt-get update && apt-get install -y --no-install-recommends g++ \
    && TEST_TOOLS=0 VENV=/opt/venv bash setup/install.sh \
    && apt-get purge -y --auto-remove g++ \
    && rm -rf /var/lib/apt/lists/* /root/.cache /tmp/*

# `python` is the venv's, for KFP's `python -m ...` container command and for Beam's
# boot. Beam's boot would otherwise run the SDK in a fresh venv without the stack.
ENV PATH=/opt/venv/bin:$PATH \
    RUN_PYTHON_SDK_IN_DEFAULT_ENVIRONMENT=1

# Dataflow runs the entrypoint; Vertex/Kubeflow give their own command, which replaces it.
ENTRYPOINT ["/opt/apache/beam/boot"]
