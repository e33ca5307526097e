# The lesson in one container image: Debian bookworm, its Python 3.11, the project installed by `make setup` as on
# a laptop, Fashion-MNIST inside, JupyterLab for a user who is not root. The same file serves `docker run` (Linux,
# Docker Desktop on Windows and macOS), VS Code dev containers (.devcontainer/), Binder (repo2docker builds it)
# and a class JupyterHub (singleuser.image). README: "Where it runs".
#
#   make image                                              # builds densenet-notebooks:latest (GPU=1: -gpu)
#   docker run --rm -p 127.0.0.1:8888:8888 densenet-notebooks
#   # then open the printed http://127.0.0.1:8888/lab/tree/notebooks/00_index.ipynb?token=... address
#
# Build arguments: BASE, a Debian bookworm image (`make image` passes one made with debootstrap where no image
# registry answers); GPU=1, MXNet's CUDA 11.2 build instead of the CPU one; NB_USER and NB_UID (Binder sets them).

ARG BASE=debian:bookworm-slim
FROM ${BASE} AS system

# python3 is bookworm's Python 3.11; libgomp1 and libquadmath0 are what MXNet's wheel links beyond the C library;
# dataset-fashion-mnist is the data (d2l_extras.data finds it in /usr/share/datasets); make runs the set-up;
# tini reaps the kernels' child processes.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      ca-certificates dataset-fashion-mnist libgomp1 libquadmath0 make python3 python3-venv tini \
 && rm -rf /var/lib/apt/lists/*

# The user (uid 1000, as Binder and JupyterHub run it), and the venv outside its home folder: a volume mounted on
# the home folder (a hub's storage, a dev container's workspace) hides nothing that is installed.
ARG NB_USER=jovyan
ARG NB_UID=1000
ENV USER=${NB_USER} NB_UID=${NB_UID} HOME=/home/${NB_USER} VENV=/opt/venv
ENV PATH=${VENV}/bin:${PATH}
RUN useradd --create-home --uid ${NB_UID} --user-group --shell /bin/bash ${NB_USER} \
 && install -d -o ${NB_UID} -g ${NB_UID} ${VENV}

# ---- the set-up, in a stage of its own: nothing of it but its result reaches the image
FROM system AS setup
COPY --chown=${NB_UID}:${NB_UID} . ${HOME}
# pip may reach the package index only through the build machine's TLS proxy: `make image` copies that machine's CA
# bundle into build/image/ca.pem. The pattern also matches nothing (Binder, a plain `docker build`): then pip
# uses its own CA bundle.
COPY Dockerfile build/image/ca.pe[m] /tmp/build-ca/
USER ${NB_UID}
WORKDIR ${HOME}
ARG GPU=0
# Extras: test (the test suite runs in the image), hub (jupyterhub-singleuser), and with GPU=1 cuda (the CUDA libraries).
# `make setup` also puts the project's Lab settings and Jupyter server settings (the slideshow's server extension,
# d2l_extras/rise_server.py) into the venv, so every server of the image has them (`jupyter lab`, Binder's
# `jupyter notebook`, a hub's `jupyterhub-singleuser`); `make trust` signs the notebooks in the user's Jupyter
# database (~/.local/share/jupyter, outside the folder a hub mounts), so their saved sliders show as sliders.
RUN if [ -s /tmp/build-ca/ca.pem ]; then export PIP_CERT=/tmp/build-ca/ca.pem SSL_CERT_FILE=/tmp/build-ca/ca.pem; fi \
 && if [ "${GPU}" = 1 ]; then extras=test,hub,cuda; else extras=test,hub; fi \
 && make setup data trust PYTHON=python3.11 GPU=${GPU} EXTRAS=$extras \
 && rm -rf ${HOME}/.cache

# ---- the image
FROM system
COPY --from=setup --chown=${NB_UID}:${NB_UID} ${VENV} ${VENV}
COPY --from=setup --chown=${NB_UID}:${NB_UID} ${HOME} ${HOME}
# GPU=1: the dynamic loader finds the CUDA libraries of NVIDIA's wheels in the venv (libcuda.so.1, the driver, comes
# from the host through the NVIDIA Container Toolkit: docker run --gpus all).
ARG GPU=0
RUN if [ "${GPU}" = 1 ]; then ls -d ${VENV}/lib/python3*/site-packages/nvidia/*/lib > /etc/ld.so.conf.d/venv-cuda.conf \
    && ldconfig; fi
USER ${NB_UID}
WORKDIR ${HOME}
EXPOSE 8888
# Binder and JupyterHub replace the command with their own (`jupyter notebook ...`, `jupyterhub-singleuser`);
# tini runs whichever is given.
ENTRYPOINT ["tini", "-g", "--"]
# JupyterLab on every address of the container (`docker run -p 127.0.0.1:8888:8888` publishes it on the host's
# loopback only), with a token (printed in the address), opened on the index.
CMD ["jupyter", "lab", "--ip=0.0.0.0", "--port=8888", "--no-browser", \
     "--LabApp.default_url=/lab/tree/notebooks/00_index.ipynb"]
